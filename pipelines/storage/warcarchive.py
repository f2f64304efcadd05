"""The crawl's WARC archive: every article page fetched, request and response, as WARC/1.1.

With ``AUTONEWS_WARC_ARCHIVE`` (``crawler.middlewares.warc_archive``), ``crawl`` and ``scrape`` write
``<output>/warc/<YYYY-MM-DD>/<run id>-<n>.warc.gz``: one gzip member per record (so a reader can
seek to any record, and a torn tail costs one record), ``WARC-Date`` = the fetch time, block and
payload digests (warcio computes them). ``autonews backfill --warc <output>/warc`` reads it back,
and ``--reextract`` runs a newer extraction over it.

Sealed like the JSON Lines files: written as ``.warc.gz.part`` (created through ``safefs``, locked
while its writer lives), fsynced and renamed when the run ends or the file reaches
``AUTONEWS_WARC_ARCHIVE_MAX_BYTES``, then listed in the manifest with ``"kind": "warc"``. A killed
run's ``.part`` is cut after its last complete gzip member, sealed and listed by the next run.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pipelines.storage.manifest import WARC, Manifest, ManifestError
from pipelines.storage.naming import WARC_DIR, WARC_PART_GLOB, file_stem
from pipelines.storage.safefs import create_new
from pipelines.storage.sealed import fsync_dir

logger = logging.getLogger(__name__)

MAX_BYTES = 1_000_000_000
"""A WARC file is sealed and a new one begun past this size (``AUTONEWS_WARC_ARCHIVE_MAX_BYTES``), as CC-NEWS does."""
PART_SUFFIX = ".warc.gz.part"
SEALED_SUFFIX = ".warc.gz"
# Transport encodings the body no longer has (Scrapy decoded it): kept under another name, as news-crawl does.
_RENAMED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One fetched page: the request as sent and the response as received (body decoded)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    """UTC time of the fetch: the records' ``WARC-Date``."""


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def response_headers(headers: Iterable[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    """The response headers as archived: the body is stored decoded, so its transport headers are renamed
    ``X-Crawler-*`` and Content-Length is the stored body's."""
    kept = []
    for name, value in headers:
        if name.lower() in _RENAMED_HEADERS:
            kept.append((f"X-Crawler-{name}", value))
        else:
            kept.append((name, value))
    kept.append(("Content-Length", str(len(body))))
    return kept


class _OpenWarc:
    """One ``.warc.gz.part`` being written."""

    def __init__(self, directory: Path, stem: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.part = directory / f"{stem}{PART_SUFFIX}"
        self.final = directory / f"{stem}{SEALED_SUFFIX}"
        self.fh = os.fdopen(create_new(self.part), "wb")
        # held while writing: recovery leaves a live writer's file alone
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        from warcio.warcwriter import WARCWriter  # only a crawl with the archive on needs it

        self.writer = WARCWriter(self.fh, gzip=True, warc_version="1.1")
        self.records = 0
        self.bytes = 0


class WarcArchive:
    """Writes exchanges to the run's WARC files; :meth:`close` seals them and lists them in the manifest."""

    def __init__(self, root: Path, run_id: str, manifest: Manifest, max_bytes: int = MAX_BYTES) -> None:
        self.root = Path(root)
        self.run_id = run_id
        self.manifest = manifest
        self.max_bytes = max_bytes
        self.files: dict[str, _OpenWarc] = {}
        self.seq = 0
        self.sealed: list[Path] = []

    def _file_for(self, day: str) -> _OpenWarc:
        current = self.files.get(day)
        if current is not None and current.bytes >= self.max_bytes:
            self._seal(day)
            current = None
        if current is None:
            self.seq += 1
            current = _OpenWarc(self.root / WARC_DIR / day, file_stem(self.run_id, self.seq))
            info = current.writer.create_warcinfo_record(current.final.name, {
                "software": "autonews", "format": "WARC File Format 1.1",
                "description": "article pages fetched by autonews (request and response)"})
            self._write(current, [info])
            self.files[day] = current
        return current

    def _write(self, target: _OpenWarc, records: list) -> None:
        for record in records:
            target.writer.write_record(record)
            target.records += 1
        target.fh.flush()  # whole members reach the OS at once: a kill leaves at most a torn last one
        target.bytes = target.fh.tell()

    def write(self, exchange: Exchange) -> None:
        """Append the exchange's response and request records (OSError when the output is not writable)."""
        from warcio.statusandheaders import StatusAndHeaders

        target = self._file_for(exchange.fetched_at.date().isoformat())
        writer = target.writer
        date = _warc_date(exchange.fetched_at)
        http = StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(),
                                response_headers(exchange.response_headers, exchange.body), protocol="HTTP/1.1")
        response = writer.create_warc_record(exchange.url, "response", payload=io.BytesIO(exchange.body),
                                             http_headers=http, warc_headers_dict={"WARC-Date": date})
        target_path = _request_target(exchange.url)
        request_http = StatusAndHeaders(f"{exchange.method} {target_path} HTTP/1.1", exchange.request_headers,
                                        is_http_request=True)
        request = writer.create_warc_record(exchange.url, "request", payload=io.BytesIO(b""),
                                            http_headers=request_http,
                                            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To":
                                                               response.rec_headers.get_header("WARC-Record-ID")})
        self._write(target, [response, request])

    def _seal(self, day: str) -> None:
        target = self.files.pop(day)
        target.fh.flush()
        os.fsync(target.fh.fileno())
        target.fh.close()
        os.replace(target.part, target.final)
        fsync_dir(target.final.parent)
        self.sealed.append(target.final)
        try:
            self.manifest.append([target.final], kind=WARC, records=target.records)
        except ManifestError as exc:  # the next run's repair lists it
            logger.error("Sealed %s but could not list it: %s", target.final, exc)
        logger.info("Sealed %s (%d records)", target.final, target.records)

    def close(self) -> None:
        """Seal every open file."""
        for day in list(self.files):
            self._seal(day)


def _request_target(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def complete_members_end(fh: BinaryIO) -> int:
    """Byte length of the complete gzip members at the start of the open file ``fh`` (a torn last one excluded).

    Inflated in bounded steps and thrown away: the output directory is not trusted, so a planted
    member that inflates without end costs time, never memory.
    """
    end = position = 0
    decomp = zlib.decompressobj(31)
    fh.seek(0)
    while chunk := fh.read(1 << 16):
        data = chunk
        while data:
            try:
                decomp.decompress(data, 1 << 20)
            except zlib.error:
                return end
            if decomp.eof:
                position += len(data) - len(decomp.unused_data)
                end = position
                data = decomp.unused_data
                decomp = zlib.decompressobj(31)
            elif decomp.unconsumed_tail:
                position += len(data) - len(decomp.unconsumed_tail)
                data = decomp.unconsumed_tail
            else:
                position += len(data)
                data = b""
    return end


def recover_warc_parts(root: Path, manifest: Manifest) -> int:
    """Seal and list the ``.warc.gz.part`` files of runs that died; return how many."""
    recovered = 0
    for part in sorted(Path(root).glob(WARC_PART_GLOB)):
        try:  # never through a link planted in the output directory
            fd = os.open(part, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        with os.fdopen(fd, "r+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            keep = complete_members_end(handle)
            if keep == 0:
                part.unlink()
                continue
            handle.truncate(keep)
            os.fsync(handle.fileno())
            final = part.with_name(part.name[: -len(".part")])
            os.replace(part, final)
            fsync_dir(final.parent)
        manifest.append([final], kind=WARC)
        recovered += 1
        logger.warning("Recovered the WARC file of an interrupted run: %s", final)
    return recovered
