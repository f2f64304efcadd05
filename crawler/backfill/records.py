"""Reading one WARC file: the registry's article records, decided from their headers first.

The reader is fastwarc (2.x): measured on a generated 20,000-record gzipped WARC (headers read,
bodies skipped) it scans ~68,000 records/s of CPU against warcio's ~11,000, and it filters record
types in Rust. Only ``response`` and ``resource`` records reach Python; for each, the
``WARC-Target-URI``'s host is looked up (``crawler.backfill.select``) before anything else, then
the HTTP status line and headers are read (a few hundred bytes), and only a registry page served
as HTML with status 200 has its payload read, capped like ``DOWNLOAD_MAXSIZE``. A gzipped file
(``.gz``) is inflated by ISA-L outside the GIL and fastwarc parses the inflated stream
(``crawler.backfill.inflate``: two files are then read on two cores at once).

A corrupt or truncated gzip member (or a record whose block is shorter than its
``Content-Length``) is counted and skipped: the reader looks for the next gzip member (or
``WARC/1.`` line of an uncompressed file) after the last good record and goes on from there,
reopening the file at that offset (``opener``), so one bad member costs one record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import BinaryIO

from crawler.backfill.http import ArchiveError
from crawler.backfill.inflate import MemberInflater
from crawler.backfill.select import SourceMatcher
from crawler.middlewares.failures import BlockedAddressError
from crawler.sources.registry import Source

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
"""Payload content types that may hold an article."""
MAX_HTTP_HEADER = 64 * 1024
"""An HTTP header block longer than this is not a page's: the record is counted as corrupt."""
MAX_RESYNCS = 1000
"""Corrupt stretches skipped in one file before the rest of it is given up."""
_SEARCH_CHUNK = 1 << 16

Opener = Callable[[int], BinaryIO]
"""Opens the file at a byte offset (a local file seeked there, or an HTTP Range request); the stream's
``tell()`` must give absolute offsets (fastwarc's ``stream_pos`` is counted from it)."""


@dataclass(slots=True)
class Candidate:
    """A record kept for extraction: a registry page served as HTML with status 200."""

    url: str
    source: Source
    fetched_at: str
    record_id: str
    offset: int
    body: bytes
    content_type: str
    charset: str | None
    content_language: str | None
    etag: str | None
    last_modified: str | None


@dataclass
class FileScan:
    """Counts and position of one file being read, shared between the reader thread and the spider.

    ``pending`` holds the offsets of kept records not yet through the pipelines: the file's safe
    resume point is the lowest of them, or the record being read (:meth:`safe_offset`).
    """

    start: int = 0
    scanned: int = 0
    kept: int = 0
    other_host: int = 0
    not_html: int = 0
    not_200: int = 0
    corrupt: int = 0
    too_large: int = 0
    frontier: int = 0
    """Offset of the record being looked at (everything before it is decided)."""
    finished: bool = False
    """The reader reached the end of the file (or gave up on it)."""
    failed: str | None = None
    """Why the file could not be read to its end (a label), or None."""
    pending: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hold(self, offset: int) -> None:
        """A kept record at ``offset`` goes to the pipelines."""
        with self.lock:
            self.pending[offset] = self.pending.get(offset, 0) + 1

    def release(self, offset: int) -> None:
        """The kept record at ``offset`` is through the pipelines (written or dropped)."""
        with self.lock:
            left = self.pending.get(offset, 0) - 1
            if left > 0:
                self.pending[offset] = left
            else:
                self.pending.pop(offset, None)

    def safe_offset(self) -> int:
        """Where a new run may resume this file without losing a record."""
        with self.lock:
            return min([self.frontier, *self.pending])

    def in_flight(self) -> int:
        """Kept records not yet through the pipelines."""
        with self.lock:
            return sum(self.pending.values())


def warc_date(value: str | None) -> str | None:
    """``WARC-Date`` as the records' ``fetched_at``: UTC ISO 8601, seconds precision; None when unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _media_type(value: str | None) -> tuple[str, str | None]:
    """Media type (lower case) and charset of a Content-Type value."""
    if not value:
        return "", None
    parts = value.split(";")
    charset = None
    for part in parts[1:]:
        key, _, val = part.strip().partition("=")
        if key.lower() == "charset" and val:
            charset = val.strip("\"' ")
    return parts[0].strip().lower(), charset


def _read_http_head(reader: object) -> tuple[int, dict[str, str], int] | None:
    """Status, headers (lower-case names; the first of repeats) and bytes of an HTTP response head;
    None when it is not one."""
    status_line = reader.readline(MAX_HTTP_HEADER)  # type: ignore[attr-defined]
    consumed = len(status_line)
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    headers: dict[str, str] = {}
    while True:
        line = reader.readline(MAX_HTTP_HEADER)  # type: ignore[attr-defined]
        consumed += len(line)
        if consumed > MAX_HTTP_HEADER or not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.partition(b":")
        if sep:
            headers.setdefault(name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))
    return int(parts[1]), headers, consumed


class RecordReader:
    """Reads one WARC file from an offset and yields its :class:`Candidate` records.

    ``stop`` is checked between records: the spider sets it when the crawl closes.
    """

    def __init__(self, opener: Opener, matcher: SourceMatcher, maxsize: int, scan: FileScan,
                 gzipped: bool = True, stop: threading.Event | None = None) -> None:
        self.opener = opener
        self.matcher = matcher
        self.maxsize = maxsize
        self.scan = scan
        self.gzipped = gzipped
        self.stop = stop or threading.Event()

    def records(self, offset: int) -> Iterator[Candidate]:
        """Every candidate from ``offset`` to the end, skipping corrupt stretches."""
        # imported here: every crawl loads this module (Scrapy's spider loader), only a backfill needs the reader
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        self._response_type = WarcRecordType.response
        scan = self.scan
        resyncs = 0
        position = offset
        while not self.stop.is_set():
            last_good: int | None = None
            raw = self.opener(position)
            # a gzipped file is inflated outside the GIL (crawler.backfill.inflate); its records' offsets are
            # mapped back to their members'. An uncompressed file: stream_pos is absolute (fastwarc counts from
            # the stream's tell(), which is the opened offset).
            inflater = MemberInflater(raw, position) if self.gzipped else None
            stream = inflater if inflater is not None else raw
            try:
                for record in ArchiveIterator(stream, record_types=WarcRecordType.response | WarcRecordType.resource,
                                              parse_http=False, fsspec_args=False):
                    start = record.stream_pos if inflater is None else inflater.offset_of(record.stream_pos)
                    scan.frontier = start
                    found = self._candidate(record, start)
                    last_good = start
                    if found is not None:
                        scan.hold(start)  # before the frontier moves past it (see FileScan)
                        yield found
                    if self.stop.is_set():
                        return
                scan.finished = True
                return
            except (ArchiveError, BlockedAddressError):
                raise  # the file cannot be fetched (after the retries): not a corrupt record
            except (OSError, ValueError):  # a corrupt or truncated member: fastwarc stops there
                if last_good is not None or resyncs == 0:  # a failed resync is the same bad stretch
                    scan.corrupt += 1
            except BaseException as exc:  # noqa: BLE001 - a panic in fastwarc's Rust code is a BaseException
                if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                    raise
                scan.corrupt += 1
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            resyncs += 1
            if resyncs > MAX_RESYNCS:
                scan.failed = "corrupt_file"
                return
            nxt = self._next_member((last_good if last_good is not None else position) + 1)
            if nxt is None:
                scan.finished = True
                return
            position = nxt
            scan.frontier = position

    def _candidate(self, record: object, start: int) -> Candidate | None:
        """The record as a candidate, or None (counted) when it is not a registry article."""
        scan = self.scan
        scan.scanned += 1
        headers = record.headers  # type: ignore[attr-defined]
        url = headers.get("WARC-Target-URI") or ""
        if url[:1] == "<":  # WARC/1.0 writers sometimes bracket it
            url = url.strip("<> ")
        source = self.matcher.match(url)
        if source is None:
            scan.other_host += 1
            return None
        reader = record.reader  # type: ignore[attr-defined]
        length = record.content_length  # type: ignore[attr-defined]
        if record.record_type == self._response_type:  # type: ignore[attr-defined]
            head = _read_http_head(reader)
            if head is None:
                scan.corrupt += 1
                return None
            status, http_headers, consumed = head
        else:  # a resource record: the block is the document itself
            status, consumed = 200, 0
            http_headers = {"content-type": headers.get("Content-Type") or ""}
        media, charset = _media_type(http_headers.get("content-type"))
        if status != 200:
            scan.not_200 += 1
            return None
        if media not in HTML_TYPES:
            scan.not_html += 1
            return None
        if length - consumed > self.maxsize:
            scan.too_large += 1
            return None
        body = reader.read(self.maxsize + 1)
        if len(body) > self.maxsize:
            scan.too_large += 1
            return None
        if consumed + len(body) < length:  # the block ends before its Content-Length: truncated
            scan.corrupt += 1
            return None
        fetched_at = warc_date(headers.get("WARC-Date"))
        if fetched_at is None:
            scan.corrupt += 1
            return None
        scan.kept += 1
        return Candidate(url=url, source=source, fetched_at=fetched_at,
                         record_id=headers.get("WARC-Record-ID") or "", offset=start, body=body,
                         content_type=media, charset=charset, content_language=http_headers.get("content-language"),
                         etag=http_headers.get("etag"), last_modified=http_headers.get("last-modified"))

    def _next_member(self, offset: int) -> int | None:
        """Offset of the next gzip member (or ``WARC/1.`` record start) at or after ``offset``; None at the end."""
        magic = b"\x1f\x8b\x08" if self.gzipped else b"WARC/1."
        stream = self.opener(offset)
        try:
            carry = b""
            base = offset
            while not self.stop.is_set():
                chunk = stream.read(_SEARCH_CHUNK)
                if not chunk:
                    return None
                data = carry + chunk
                index = data.find(magic)
                while index != -1 and not self.gzipped and index > 0 and data[index - 1:index] != b"\n":
                    index = data.find(magic, index + 1)
                if index != -1:
                    return base + index
                keep = len(magic) - 1
                carry = data[-keep:]
                base += len(data) - len(carry)
            return None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
