"""Classify failed requests into short labels counted in the crawl stats.

Scrapy reports several real failures as IgnoreRequest (HTTP errors, redirect loops,
bodies inflating past DOWNLOAD_MAXSIZE), the same class it uses for requests skipped on
purpose (robots.txt, already stored, offsite), so those are told apart here.
"""

from __future__ import annotations

import zlib
from urllib.parse import urldefrag, urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure
from w3lib.url import safe_url_string

_GZIP_MAGIC = b"\x1f\x8b"


class TruncatedBodyError(Exception):
    """A compressed response body ends before its compressed stream does."""


class RedirectLoopError(Exception):
    """A redirect leads back to a URL already visited in the same redirect chain."""


def failure_label(failure: Failure) -> str | None:
    """Return a short, stable label for a request failure (``http_404``, ``too_large``,
    ``redirect_loop``, ``DownloadTimeoutError``...), or None for a request skipped on purpose.
    """
    exc = failure.value
    if failure.check(HttpError):
        return f"http_{exc.response.status}"
    if failure.check(IgnoreRequest):
        message = str(exc)
        if "DOWNLOAD_MAXSIZE" in message:  # HttpCompressionMiddleware: a decompression bomb
            return "too_large"
        if "max redirections" in message:  # RedirectMiddleware: an endless chain
            return "redirect_loop"
        return None
    if failure.check(RedirectLoopError):
        return "redirect_loop"
    if failure.check(DownloadCancelledError):
        # Download handlers cancel only past DOWNLOAD_MAXSIZE (the streamed case carries no
        # message) or when the crawl is being shut down, when counts no longer matter.
        return "too_large"
    if failure.check(TruncatedBodyError):
        return "truncated_body"
    return type(exc).__name__


def count_error(stats: StatsCollector, label: str, source: str) -> None:
    """Count one error globally, in the total, and per source (also by label, for the run report)."""
    stats.inc_value(f"autonews/errors/{label}")
    stats.inc_value("autonews/errors/total")
    stats.inc_value(f"autonews/source/{source}/errors")
    stats.inc_value(f"autonews/source/{source}/errors/{label}")


def count_failure(stats: StatsCollector, failure: Failure, source: str) -> str | None:
    """Count a failure globally and per source; return its label.

    A request skipped on purpose (already stored, robots.txt) is not an error: None.
    """
    label = failure_label(failure)
    if label is None:
        stats.inc_value(f"autonews/source/{source}/skipped")
        return None
    count_error(stats, label, source)
    return label


def gzip_truncated(body: bytes, limit: int) -> bool:
    """True if a gzip body stops before the end of its (last) member.

    Inflates at most about `limit` bytes: a bomb is HttpCompressionMiddleware's to refuse.
    A corrupt stream is left to that middleware too (it raises on it).
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data, produced = body, 0
    try:
        while True:
            chunk = inflater.decompress(data, 1 << 20)
            produced += len(chunk)
            data = inflater.unconsumed_tail
            if produced > limit > 0:
                return False
            if inflater.eof:
                rest = inflater.unused_data
                if rest[:2] != _GZIP_MAGIC:
                    return False
                inflater, data = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            elif not data and not chunk:
                return True
    except zlib.error:
        return False


class TruncatedGzipMiddleware:
    """Fail responses whose gzip body is cut short instead of keeping the part that inflates.

    Scrapy's gunzip is deliberately lenient and returns a truncated page as if it were
    whole: a half article would be stored as the article. Must sit after (above)
    HttpCompressionMiddleware (590) so it sees the compressed body.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "TruncatedGzipMiddleware":
        """Build with the DOWNLOAD_MAXSIZE limit."""
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request: Request, response: Response) -> Response:
        """Raise TruncatedBodyError for a gzip-encoded body that ends mid-stream."""
        encodings = b",".join(response.headers.getlist("Content-Encoding")).lower().split(b",")
        if request.method == "HEAD" or encodings[-1].strip() not in (b"gzip", b"x-gzip"):
            return response
        if gzip_truncated(response.body, self.limit):
            raise TruncatedBodyError(f"gzip body of {response.url} is truncated ({len(response.body)} bytes)")
        return response


class RedirectLoopMiddleware:
    """Fail a redirect back to a URL already in its own chain (A -> B -> A) as a redirect loop.

    Left alone, the duplicate filter drops the repeated request silently: no errback, no
    error counted. Must sit after (above) RedirectMiddleware (600) to see the 3xx first.
    """

    _REDIRECTS = frozenset((301, 302, 303, 307, 308))

    def process_response(self, request: Request, response: Response) -> Response:
        """Raise RedirectLoopError when the Location target was already visited in this chain."""
        location = response.headers.get("Location")
        if response.status not in self._REDIRECTS or not location or request.meta.get("dont_redirect"):
            return response
        target = urldefrag(urljoin(request.url, safe_url_string(location)))[0]
        visited = {urldefrag(u)[0] for u in (*request.meta.get("redirect_urls", ()), request.url)}
        if target in visited:
            raise RedirectLoopError(f"redirect loop: {request.url} -> {target}")
        return response
