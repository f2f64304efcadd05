"""Streaming HTTP for WARC files: guarded, polite, retried, resumed with Range.

Why not Scrapy's downloader: it holds a whole response body in memory (a CC-NEWS file is ~1 GB)
and caps it at ``DOWNLOAD_MAXSIZE``. A WARC file is read here, in the reader's thread, through
``http.client`` in small chunks; a connection cut midway is picked up where it broke with a
``Range`` request, so the WARC parser above never notices (:class:`ResumingStream`).

The address guard applies as to every crawl request (``crawler.security``): only http(s), the host
is resolved here and every address it resolves to must be allowed by ``AUTONEWS_PRIVATE_HOSTS``
(or be public), and the connection goes to the checked address (no second lookup to rebind).

Retries (``ArchiveClient.open``): 503 / SlowDown (an S3 XML body, not WARC: the status and the
content type are checked before a byte is parsed), 429, 500/502/504, 403 (CloudFront answers a
burst with it), timeouts and cut connections, with exponential backoff and jitter.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.middlewares.failures import BlockedAddressError, BlockedSchemeError
from crawler.security.addresses import AddressPolicy, parse_ip

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
"""Statuses an archive host answers a busy moment with: tried again after a pause."""
RETRIES = 6
"""Attempts after the first, per request (``AUTONEWS_BACKFILL_RETRIES``)."""
BACKOFF = 2.0
"""Seconds before the first retry, doubled each time, jittered (``AUTONEWS_BACKFILL_BACKOFF``)."""
MAX_BACKOFF = 120.0
TIMEOUT = 60.0
"""Seconds a connection may stay silent (``AUTONEWS_BACKFILL_TIMEOUT``)."""
CHUNK = 1 << 16
MAX_REDIRECTS = 3
_NOT_WARC_TYPES = ("text/html", "application/xml", "text/xml", "application/json")
"""Content types of an error page served with status 200: never WARC data."""


class ArchiveError(OSError):
    """A WARC file (or list) could not be fetched, after the retries."""

    def __init__(self, message: str, label: str) -> None:
        super().__init__(message)
        self.label = label
        """Short stable label for the stats (``http_404``, ``timeout``, ``blocked_address``...)."""


class _Retry(Exception):
    """One attempt failed in a way worth trying again."""

    def __init__(self, message: str, label: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.label = label
        self.delay = delay


@dataclass
class ArchiveClient:
    """Fetches WARC files and their lists over http(s), one connection per request."""

    policy: AddressPolicy
    user_agent: str = "autonews/0.1"
    timeout: float = TIMEOUT
    retries: int = RETRIES
    backoff: float = BACKOFF
    on_retry: Callable[[str], None] | None = None
    """Called with a label each time a request is tried again (the spider counts it)."""
    sleep: Callable[[float], None] = time.sleep

    # -- connections ------------------------------------------------------------
    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        """A connection to the checked address of ``url``'s host, and the request target (path + query)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise BlockedSchemeError(url[:100], scheme, "only http and https URLs are fetched")
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        address = self._checked_address(host, port)
        if scheme == "https":
            conn: http.client.HTTPConnection = _PinnedHTTPS(host, port, address, timeout=self.timeout,
                                                            context=ssl.create_default_context())
        else:
            conn = _PinnedHTTP(host, port, address, timeout=self.timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return conn, target

    def _checked_address(self, host: str, port: int) -> str:
        """The address to connect to: every address the host resolves to must be allowed."""
        literal = parse_ip(host)
        if literal is not None:
            if not self.policy.allows(host, literal):
                raise BlockedAddressError(host, str(literal))
            return str(literal)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise _Retry(f"cannot resolve {host}: {exc}", "dns_error") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:
            if not self.policy.allows(host, address):
                raise BlockedAddressError(host, address)
        return addresses[0]

    def _request(self, method: str, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """One request, following up to :data:`MAX_REDIRECTS` redirects (each checked by the guard)."""
        for _ in range(MAX_REDIRECTS + 1):
            conn, target = self._connect(url)
            try:
                conn.request(method, target, headers={"User-Agent": self.user_agent, **headers})
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise _Retry(f"{url}: {exc or type(exc).__name__}", _label_of(exc)) from None
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                location = urljoin(url, response.getheader("Location") or "")
                response.close()
                conn.close()
                url = location
                continue
            response._autonews_conn = conn  # type: ignore[attr-defined] - closed with the response
            return response
        raise ArchiveError(f"{url}: too many redirects", "redirect_loop")

    # -- with retries -------------------------------------------------------------
    def _with_retries(self, url: str, attempt: Callable[[], Any]) -> Any:
        """Run ``attempt`` until it returns, retrying :class:`_Retry` failures with jittered backoff."""
        delay = self.backoff
        for tries in range(self.retries + 1):
            try:
                return attempt()
            except _Retry as exc:
                if tries >= self.retries:
                    raise ArchiveError(f"{exc} (after {tries + 1} attempts)", exc.label) from None
                if self.on_retry is not None:
                    self.on_retry(exc.label)
                wait = exc.delay if exc.delay is not None else delay
                wait = min(MAX_BACKOFF, wait) * random.uniform(0.5, 1.5)
                logger.info("Retrying %s in %.1f s: %s", url, wait, exc)
                self.sleep(wait)
                delay = min(MAX_BACKOFF, delay * 2)
        raise AssertionError("unreachable")

    def open(self, url: str, offset: int = 0) -> http.client.HTTPResponse:
        """A response streaming ``url`` from byte ``offset`` on (status and content type checked)."""

        def attempt() -> http.client.HTTPResponse:
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            response = self._request("GET", url, headers)
            try:
                _check(url, response, 206 if offset else 200)
            except BaseException:
                _close(response)
                raise
            return response

        return self._with_retries(url, attempt)

    def size(self, url: str) -> int | None:
        """The size of ``url`` from a HEAD request (None when the server does not say)."""

        def attempt() -> int | None:
            response = self._request("HEAD", url, {"Accept-Encoding": "identity"})
            try:
                _check(url, response, 200)
                length = response.getheader("Content-Length")
                return int(length) if length and length.isdigit() else None
            finally:
                _close(response)

        return self._with_retries(url, attempt)

    def get_bytes(self, url: str, limit: int) -> bytes:
        """The whole body of a small document (a ``warc.paths.gz`` list), at most ``limit`` bytes."""

        def attempt() -> bytes:
            response = self._request("GET", url, {"Accept-Encoding": "identity"})
            try:
                _check(url, response, 200)
                try:
                    data = response.read(limit + 1)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retry(f"{url}: {exc}", _label_of(exc)) from None
            finally:
                _close(response)
            if len(data) > limit:
                raise ArchiveError(f"{url}: larger than {limit} bytes", "too_large")
            return data

        return self._with_retries(url, attempt)

    def stream(self, url: str, offset: int = 0) -> ResumingStream:
        """A file-like reader of ``url`` from ``offset`` that resumes a cut connection with Range."""
        return ResumingStream(self, url, offset)


def client_from_settings(settings: Any, policy: AddressPolicy,
                         on_retry: Callable[[str], None] | None = None) -> ArchiveClient:
    """The archive client of a run: its User-Agent and the ``AUTONEWS_BACKFILL_*`` retry settings."""
    return ArchiveClient(policy, user_agent=settings.get("USER_AGENT") or "autonews/0.1",
                         timeout=settings.getfloat("AUTONEWS_BACKFILL_TIMEOUT", TIMEOUT),
                         retries=settings.getint("AUTONEWS_BACKFILL_RETRIES", RETRIES),
                         backoff=settings.getfloat("AUTONEWS_BACKFILL_BACKOFF", BACKOFF), on_retry=on_retry)


def _check(url: str, response: http.client.HTTPResponse, wanted: int) -> None:
    """Refuse a response that is not the file: retry on busy statuses, fail on others.

    An S3 SlowDown is a 503 with an XML body, and some hosts send error pages with status 200:
    the content type is looked at too, before anything is read as WARC.
    """
    status = response.status
    if status in RETRY_STATUSES:
        retry_after = response.getheader("Retry-After")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise _Retry(f"{url}: HTTP {status}", f"http_{status}", delay)
    if status == 200 and wanted == 206:
        # the server ignored the Range: the caller would read the file from its start again
        raise ArchiveError(f"{url}: the server does not support Range requests", "no_range")
    if status != wanted:
        raise ArchiveError(f"{url}: HTTP {status}", f"http_{status}")
    ctype = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if ctype in _NOT_WARC_TYPES:
        raise _Retry(f"{url}: served as {ctype}, not a file", "not_warc")


def _label_of(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection_lost"
    return type(exc).__name__


def _close(response: http.client.HTTPResponse) -> None:
    response.close()
    conn = getattr(response, "_autonews_conn", None)
    if conn is not None:
        conn.close()


class ResumingStream:
    """A binary, read-only stream of a remote file from ``offset``; reopens with Range when cut.

    ``position`` is the absolute offset of the next byte. A read that fails (timeout, reset, a body
    shorter than its Content-Length) reopens the file at ``position`` through the client's retries;
    a file that changed meanwhile (another length) is an error rather than a spliced stream.
    """

    def __init__(self, client: ArchiveClient, url: str, offset: int = 0) -> None:
        self.client = client
        self.url = url
        self.position = offset
        self.resumed = 0
        """How many times a cut connection was picked up again."""
        self.total: int | None = None
        self._response: http.client.HTTPResponse | None = None
        self.closed = False

    def _open(self) -> http.client.HTTPResponse:
        response = self.client.open(self.url, self.position)
        total = _total_size(response, self.position)
        if self.total is not None and total is not None and total != self.total:
            _close(response)
            raise ArchiveError(f"{self.url}: changed while it was read ({self.total} -> {total} bytes)", "changed")
        self.total = self.total or total
        return response

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (``-1``: a chunk); ``b""`` only at the end of the file."""
        if self.closed:
            raise ValueError("read from a closed stream")
        want = CHUNK if size is None or size < 0 else size
        if self.total is not None and self.position >= self.total:
            return b""
        for _ in range(self.client.retries + 1):
            if self._response is None:
                self._response = self._open()
            try:
                data = self._response.read1(want) if want else b""
            except (OSError, http.client.HTTPException) as exc:
                data = b""
                error: BaseException | None = exc
            else:
                error = None
            if data:
                self.position += len(data)
                return data
            if error is None and (self.total is None or self.position >= self.total):
                return b""  # the end, as announced
            # cut midway (an exception, or an early end before Content-Length): resume with Range
            _close(self._response)
            self._response = None
            self.resumed += 1
            if self.client.on_retry is not None:
                self.client.on_retry("connection_lost")
            logger.info("Connection to %s lost at byte %d (%s); resuming", self.url, self.position,
                        error or "early end")
            self.client.sleep(min(MAX_BACKOFF, self.client.backoff) * random.uniform(0.5, 1.5))
        raise ArchiveError(f"{self.url}: connection lost at byte {self.position} too often", "connection_lost")

    def tell(self) -> int:
        """The absolute offset of the next byte (fastwarc counts record offsets from it)."""
        return self.position

    def readable(self) -> bool:
        """Always True: a stream to read."""
        return True

    def close(self) -> None:
        """Close the connection."""
        if self._response is not None:
            _close(self._response)
            self._response = None
        self.closed = True

    def __enter__(self) -> ResumingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _total_size(response: http.client.HTTPResponse, offset: int) -> int | None:
    """The whole file's size from Content-Range (206) or Content-Length (200)."""
    content_range = response.getheader("Content-Range") or ""
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    length = response.getheader("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a host name, connected to one already-checked address."""

    def __init__(self, host: str, port: int, address: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        """Connect to the checked address (never a second DNS lookup)."""
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a host name (certificate and SNI checked for it), connected to one already-checked address."""

    def __init__(self, host: str, port: int, address: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        """Connect to the checked address, then TLS for the host name."""
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
