"""The crawl's WARC archive in-process (pipelines.storage.warcarchive): records, rollover, sealing, recovery.

The CLI test crawls with the archive on and backfills from it (a subprocess the mutation run cannot see);
these check the same contract where it is made: each fetch is a response and a request record with the
fetch time and the decoded body's headers, files roll over by day and size, sealing lists each file once
with its record count, and recovery keeps exactly the whole gzip members of a killed run's file.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.storage.manifest import Manifest, ManifestError, read_manifest
from pipelines.storage.warcarchive import (Exchange, WarcArchive, complete_members_end, recover_warc_parts,
                                           response_headers)

RUN = "20260101T000000Z-w-1"
DAY1 = datetime(2026, 1, 1, 12, 30, 45, 123456, tzinfo=timezone.utc)
DAY2 = datetime(2026, 1, 2, 0, 0, 1, tzinfo=timezone.utc)


def exchange(n: int = 0, when: datetime = DAY1, url: str | None = None, body: bytes | None = None) -> Exchange:
    return Exchange(url or f"https://x.example/news/{n}?a=1", "GET", [("Host", "x.example"), ("Accept", "text/html")],
                    200, "OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Content-Length", "9")],
                    body if body is not None else b"<html>%d</html>" % n, when)


def records(path: Path) -> list:
    """(type, WARC headers, HTTP status line or None, HTTP headers, payload) of every record of a WARC file."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            http = record.http_headers
            out.append((record.rec_type, dict(record.rec_headers.headers), record.rec_headers.protocol,
                        http.statusline if http else None, list(http.headers) if http else [],
                        http.protocol if http else None, record.content_stream().read()))
    return out


def test_a_fetch_is_a_response_and_a_request_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = Manifest(tmp_path, 4)
    archive = WarcArchive(tmp_path, RUN, manifest)
    archive.write(exchange(url="https://x.example/a/b?q=1&r=2"))
    archive.write(exchange(url="https://x.example"))
    with caplog.at_level(logging.INFO, logger="pipelines.storage.warcarchive"):
        archive.close()
    (path,) = tmp_path.glob("warc/*/*")
    assert [r.getMessage() for r in caplog.records] == [f"Sealed {path} (5 records)"]
    assert path.relative_to(tmp_path).as_posix() == f"warc/2026-01-01/{RUN}-00001.warc.gz"
    info, response, request, response2, request2 = records(path)

    assert info[0] == "warcinfo" and info[2] == "WARC/1.1"
    assert info[1]["WARC-Filename"] == path.name
    assert info[6] == (b"software: autonews\r\nformat: WARC File Format 1.1\r\n"
                       b"description: article pages fetched by autonews (request and response)\r\n")

    kind, headers, version, status, http, protocol, body = response
    assert (kind, version, status, protocol, body) == ("response", "WARC/1.1", "200 OK", "HTTP/1.1", b"<html>0</html>")
    assert headers["WARC-Target-URI"] == "https://x.example/a/b?q=1&r=2"
    assert headers["WARC-Date"] == "2026-01-01T12:30:45.123456Z"  # the fetch time, not the write time
    assert headers["WARC-Payload-Digest"].startswith("sha1:")
    # the body is stored decoded: its transport headers are kept renamed, Content-Length is the stored body's
    assert http == [("Content-Type", "text/html"), ("X-Crawler-Content-Encoding", "gzip"),
                    ("X-Crawler-Content-Length", "9"), ("Content-Length", str(len(b"<html>0</html>")))]

    kind, headers, version, status, http, protocol, body = request
    assert (kind, version, body) == ("request", "WARC/1.1", b"")
    assert (status, protocol) == ("/a/b?q=1&r=2 HTTP/1.1", "GET")
    assert http == [("Host", "x.example"), ("Accept", "text/html")]
    assert headers["WARC-Date"] == "2026-01-01T12:30:45.123456Z"
    assert headers["WARC-Concurrent-To"] == response[1]["WARC-Record-ID"]
    assert headers["WARC-Target-URI"] == "https://x.example/a/b?q=1&r=2"
    assert request2[3] == "/ HTTP/1.1"  # no path: "/", no query: nothing after it
    assert response2[1]["WARC-Target-URI"] == "https://x.example"

    (entry,) = read_manifest(tmp_path)
    data = path.read_bytes()
    assert (entry.kind, entry.file, entry.records, entry.bytes, entry.run_id) == (
        "warc", f"warc/2026-01-01/{RUN}-00001.warc.gz", 5, len(data), RUN)
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert archive.sealed == [path] and archive.files == {}
    # one gzip member per record: a reader can seek to any record, a torn tail costs one
    assert complete_members_end_of(path) == len(data)


def complete_members_end_of(path: Path) -> int:
    with open(path, "rb") as fh:
        return complete_members_end(fh)


def test_a_status_without_reason_has_no_trailing_space(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, RUN, Manifest(tmp_path, 4))
    archive.write(Exchange("https://x.example/", "GET", [], 204, "", [], b"", DAY1))
    archive.close()
    (path,) = tmp_path.glob("warc/*/*.warc.gz")
    assert records(path)[1][3] == "204"


def test_response_headers_rename_transport_headers_whatever_their_case() -> None:
    kept = response_headers([("content-encoding", "br"), ("Transfer-Encoding", "chunked"), ("CONTENT-LENGTH", "3"),
                             ("X-Other", "1")], b"abcdef")
    assert kept == [("X-Crawler-content-encoding", "br"), ("X-Crawler-Transfer-Encoding", "chunked"),
                    ("X-Crawler-CONTENT-LENGTH", "3"), ("X-Other", "1"), ("Content-Length", "6")]


def test_files_roll_over_by_day_and_by_size(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path, 4)
    archive = WarcArchive(tmp_path, RUN, manifest, max_bytes=1)  # every file is full after its first write
    archive.write(exchange(1))
    first = archive.files["2026-01-01"].part
    assert first.name == f"{RUN}-00001.warc.gz.part" and first.exists()
    archive.write(exchange(2))  # the full file is sealed first, then a new one begun
    assert not first.exists() and first.with_name(f"{RUN}-00001.warc.gz").exists()
    archive.write(exchange(3, when=DAY2))
    archive.close()
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("warc/*/*"))
    assert names == [f"warc/2026-01-01/{RUN}-00001.warc.gz", f"warc/2026-01-01/{RUN}-00002.warc.gz",
                     f"warc/2026-01-02/{RUN}-00003.warc.gz"]
    entries = read_manifest(tmp_path)
    assert [(e.seq, e.file, e.records) for e in entries] == [(i + 1, n, 3) for i, n in enumerate(names)]
    for name in names:  # each file starts with its own warcinfo
        assert [r[0] for r in records(tmp_path / name)] == ["warcinfo", "response", "request"]


def test_a_file_is_full_once_it_reaches_the_size_limit(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, RUN, Manifest(tmp_path, 4))
    archive.write(exchange(1))
    archive.max_bytes = archive.files["2026-01-01"].bytes + 1  # one byte short of full: the next fetch goes in
    archive.write(exchange(2))
    assert archive.seq == 1
    archive.max_bytes = archive.files["2026-01-01"].bytes  # exactly full: the next fetch begins a new file
    archive.write(exchange(3))
    assert archive.seq == 2 and len(archive.sealed) == 1
    archive.close()
    assert [e.records for e in read_manifest(tmp_path)] == [5, 3]


def test_a_file_under_the_size_limit_takes_every_fetch_of_its_day(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, RUN, Manifest(tmp_path, 4))
    for n in range(3):
        archive.write(exchange(n))
    current = archive.files["2026-01-01"]
    assert current.records == 7 and current.bytes == current.part.stat().st_size
    archive.write(exchange(3, when=DAY2))
    assert len(archive.files) == 2
    archive.close()
    assert [e.records for e in read_manifest(tmp_path)] == [7, 3]


def test_sealing_logs_a_manifest_it_cannot_list_in(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Refusing(Manifest):
        def append(self, *args: object, **kwargs: object) -> list:
            raise ManifestError("no room")

    archive = WarcArchive(tmp_path, RUN, Refusing(tmp_path, 4))
    archive.write(exchange())
    with caplog.at_level(logging.INFO, logger="pipelines.storage.warcarchive"):
        archive.close()  # the file is sealed anyway: the next run's repair lists it
    assert next(tmp_path.glob("warc/*/*.warc.gz")).exists()
    path = next(tmp_path.glob("warc/*/*.warc.gz"))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"Sealed {path} but could not list it: no room"]


def test_the_part_being_written_is_locked(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, RUN, Manifest(tmp_path, 4))
    archive.write(exchange())
    part = archive.files["2026-01-01"].part
    with open(part, "rb") as other:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    later, _ = _killed_part(tmp_path, "20260102T000000Z-w-9")  # a dead writer's file, after the live one
    assert recover_warc_parts(tmp_path, Manifest(tmp_path, 4)) == 1  # a live writer's file is left alone
    assert part.exists() and not later.exists()
    archive.close()


def _members(*payloads: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in payloads)


@pytest.mark.parametrize("cut", [0, 1, 10, 25])
def test_complete_members_end_excludes_a_torn_member(tmp_path: Path, cut: int) -> None:
    whole = _members(b"first record", b"second record " * 50)
    torn = gzip.compress(b"third record " * 50)[:cut] if cut else b""
    path = tmp_path / "x.gz"
    path.write_bytes(whole + torn)
    assert complete_members_end_of(path) == len(whole)


def test_complete_members_end_reads_big_files_in_steps(tmp_path: Path) -> None:
    # incompressible members spanning many 64 KiB reads, and one inflating past the 1 MiB step
    big = [os.urandom(100_000) for _ in range(3)]
    whole = _members(*big, b"\0" * 3_000_000, b"tail")
    path = tmp_path / "x.gz"
    path.write_bytes(whole + b"\x1f\x8b\x08garbage")  # a header and then nonsense: a torn member
    assert complete_members_end_of(path) == len(whole)
    path.write_bytes(b"not gzip at all")
    assert complete_members_end_of(path) == 0
    path.write_bytes(_members(b"a") + b"not gzip")
    assert complete_members_end_of(path) == len(_members(b"a"))


def test_a_zlib_stream_is_not_a_gzip_member(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(zlib.compress(b"a record"))
    assert complete_members_end_of(path) == 0
    path.write_bytes(_members(b"one") + zlib.compress(b"two"))
    assert complete_members_end_of(path) == len(_members(b"one"))


def test_a_member_that_inflates_hugely_is_scanned_in_bounded_memory(tmp_path: Path) -> None:
    """A planted member of 256 MB of zeros (~250 KB compressed) costs time, never its inflated size in memory."""
    import tracemalloc

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(256)) + packer.flush()
    path = tmp_path / "bomb.gz"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        assert complete_members_end_of(path) == len(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, peak


def test_complete_members_end_counts_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(_members(b"one", b"two"))
    with open(path, "rb") as fh:
        fh.read()  # the position is at the end: the scan starts over from byte 0
        assert complete_members_end(fh) == len(_members(b"one", b"two"))


def _killed_part(root: Path, run: str = RUN, writes: int = 2) -> tuple[Path, bytes]:
    """A WARC ``.part`` as a killed run leaves it (records written, handle gone, not sealed)."""
    archive = WarcArchive(root, run, Manifest(root, 4))
    for n in range(writes):
        archive.write(exchange(n))
    current = archive.files.pop("2026-01-01")
    current.fh.close()  # the kill: the lock goes with the handle
    return current.part, current.part.read_bytes()


def test_recovery_cuts_a_killed_file_after_its_last_whole_member_and_lists_it(tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    part, whole = _killed_part(tmp_path)
    part.write_bytes(whole + zlib.compress(b"x" * 1000)[:20])
    empty, _ = _killed_part(tmp_path, "20251231T000000Z-w-2", writes=1)  # sorts first: the next one still recovered
    empty.write_bytes(b"\x1f\x8b torn first member")  # nothing whole: removed
    manifest = Manifest(tmp_path, 4)
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.warcarchive"):
        assert recover_warc_parts(tmp_path, manifest) == 1
    final = part.with_name(part.name[: -len(".part")])
    assert final.read_bytes() == whole and not part.exists() and not empty.exists()
    (entry,) = read_manifest(tmp_path)
    assert (entry.kind, entry.file, entry.records, entry.bytes) == ("warc", final.relative_to(tmp_path).as_posix(),
                                                                    5, len(whole))
    assert [r.getMessage() for r in caplog.records] == [f"Recovered the WARC file of an interrupted run: {final}"]
    assert recover_warc_parts(tmp_path, manifest) == 0  # nothing left to recover


def test_recovery_never_follows_a_planted_link(tmp_path: Path) -> None:
    part, whole = _killed_part(tmp_path)
    victim = tmp_path / "victim.warc.gz"
    victim.write_bytes(whole + b"tail the recovery must not cut")
    part.unlink()
    part.symlink_to(victim)
    later, _ = _killed_part(tmp_path, "20260102T000000Z-w-9")  # sorts after the link: still recovered
    assert recover_warc_parts(tmp_path, Manifest(tmp_path, 4)) == 1
    assert victim.read_bytes().endswith(b"tail the recovery must not cut")
    assert part.is_symlink() and [e.file.rsplit("/", 1)[1] for e in read_manifest(tmp_path)] == [
        "20260102T000000Z-w-9-00001.warc.gz"]


def test_recovered_files_are_counted(tmp_path: Path) -> None:
    _killed_part(tmp_path, RUN)
    _killed_part(tmp_path, "20260101T000001Z-w-2")
    assert recover_warc_parts(tmp_path, Manifest(tmp_path, 4)) == 2
    assert [json.loads(line)["seq"] for line in (tmp_path / "manifest.jsonl").read_bytes().splitlines()] == [1, 2]
