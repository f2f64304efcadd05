"""The gzipped WARC inflater of the backfill reader (crawler/backfill/inflate.py): fastwarc parses the
records it inflates exactly as it parses the gzipped file itself, with the same (compressed) offsets;
a bad or cut member stops it only after every good record before it; its reads are bounded."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator

from crawler.backfill import records as records_module
from crawler.backfill.inflate import MAX_READ, CorruptMember, MemberInflater
from crawler.backfill.records import FileScan, RecordReader
from crawler.backfill.select import SourceMatcher
from crawler.sources.registry import load_sources
from tests.warc_fixtures import build_warc, write_registry


def _parsed(stream: object, offset_of: object = None) -> list[tuple[int, str, str, bytes]]:
    """(offset, type, target URI, block) of every record fastwarc finds in ``stream``."""
    found = []
    for record in ArchiveIterator(stream, parse_http=False):
        position = record.stream_pos if offset_of is None else offset_of(record.stream_pos)
        found.append((position, record.headers.get("WARC-Type"), record.headers.get("WARC-Target-URI") or "",
                      record.reader.read()))
    return found


def _member_starts(data: bytes) -> list[int]:
    """Where each gzip member of ``data`` begins (inflated with zlib, the reference)."""
    starts, position = [], 0
    while position < len(data):
        starts.append(position)
        unpacker = zlib.decompressobj(31)
        unpacker.decompress(data[position:])
        position = len(data) - len(unpacker.unused_data)
    return starts


class _Chunked(io.BytesIO):
    """A stream that returns at most ``size`` bytes a read (as a network stream does)."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data)
        self.size = size

    def read(self, n: int | None = -1) -> bytes:  # noqa: D102 - io.BytesIO's
        return super().read(self.size if n is None or n < 0 else min(n, self.size))


@pytest.mark.parametrize("chunk", [7, 4096, 1 << 20])
def test_records_and_offsets_are_fastwarcs_own(chunk: int) -> None:
    data = build_warc(1, 1, articles=5, others=12, truncate=False).data
    own = _parsed(io.BytesIO(data))
    inflater = MemberInflater(_Chunked(data, chunk), 0)
    assert _parsed(inflater, inflater.offset_of) == own
    assert len(own) > 20 and {offset for offset, *_ in own} <= set(_member_starts(data))


def test_a_read_opened_at_a_member_gives_absolute_offsets() -> None:
    data = build_warc(2, 1, articles=4, others=8, truncate=False).data
    starts = _member_starts(data)
    middle = starts[len(starts) // 2]
    inflater = MemberInflater(io.BytesIO(data[middle:]), middle)
    assert _parsed(inflater, inflater.offset_of) == [r for r in _parsed(io.BytesIO(data)) if r[0] >= middle]


def test_a_bad_member_stops_the_read_after_every_good_record_before_it() -> None:
    data = build_warc(3, 1, articles=4, others=8, truncate=False).data
    starts = _member_starts(data)
    bad = starts[6]
    # the member's deflate data is garbled after its gzip header: it does not inflate (or fails its CRC)
    broken = data[:bad + 10] + bytes(255 - b for b in data[bad + 10:starts[7]]) + data[starts[7]:]
    inflater = MemberInflater(io.BytesIO(broken), 0)
    seen: list[int] = []
    with pytest.raises(CorruptMember):
        for record in ArchiveIterator(inflater, parse_http=False):
            record.reader.read()
            seen.append(inflater.offset_of(record.stream_pos))
    assert seen == [r[0] for r in _parsed(io.BytesIO(data))][:6]


def test_a_file_cut_inside_a_member_is_an_error_not_an_end() -> None:
    data = build_warc(4, 1, articles=3, others=4, truncate=False).data
    starts = _member_starts(data)
    inflater = MemberInflater(io.BytesIO(data[:starts[-1] + 40]), 0)
    with pytest.raises(CorruptMember, match="ends inside"):
        while inflater.read(1 << 16):
            pass
    complete = MemberInflater(io.BytesIO(data[:starts[-1]]), 0)  # cut between two members: a clean end
    assert sum(len(part) for part in iter(lambda: complete.read(1 << 16), b"")) > 0


def test_every_read_is_bounded_whatever_the_compression_ratio() -> None:
    bomb = gzip.compress(b"\0" * (64 * MAX_READ), compresslevel=9)  # 64 MB from ~64 KB
    assert len(bomb) < MAX_READ
    inflater = MemberInflater(io.BytesIO(bomb + gzip.compress(b"tail")), 0)
    sizes = [len(part) for part in iter(lambda: inflater.read(-1), b"")]
    assert max(sizes) <= MAX_READ and sum(sizes) == 64 * MAX_READ + 4
    inflater = MemberInflater(io.BytesIO(bomb), 0)
    assert len(inflater.read(10)) <= 10


def test_empty_members_and_a_stream_that_is_not_gzip() -> None:
    members = gzip.compress(b"") + gzip.compress(b"WARC") + gzip.compress(b"") + gzip.compress(b"/1.1")
    inflater = MemberInflater(io.BytesIO(members), 100)
    assert b"".join(iter(lambda: inflater.read(3), b"")) == b"WARC/1.1"
    plain = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n"
    inflater = MemberInflater(io.BytesIO(plain), 100)  # a ".warc.gz" that is not compressed: passed through
    assert _parsed(inflater, inflater.offset_of) == [(100, "resource", "", b"hi")]


def test_the_backfill_reader_inflates_gzipped_files_through_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_warc(5, 1, articles=6, others=10)
    used: list[int] = []

    class Counting(MemberInflater):
        def __init__(self, raw: object, start: int) -> None:
            used.append(start)
            super().__init__(raw, start)  # type: ignore[arg-type]

    monkeypatch.setattr(records_module, "MemberInflater", Counting)
    matcher = SourceMatcher(load_sources(write_registry(tmp_path)))
    scan = FileScan()
    reader = RecordReader(lambda offset: io.BytesIO(built.data[offset:]), matcher, 10 ** 7, scan, gzipped=True)
    found = sorted((c.url, c.offset) for c in reader.records(0))
    assert used and used[0] == 0
    wanted = [(url, e["offset"]) for url, e in built.expected.items()]
    wanted += [(url, e["offset"]) for url, e in built.second_capture.items()]  # the duplicate capture, read too
    assert found == sorted(wanted)
    assert scan.corrupt == 1 and scan.finished  # the fixture's truncated member, counted and skipped


def test_offsets_asked_after_reading_ahead_are_still_each_records_member() -> None:
    data = build_warc(6, 1, articles=3, others=6, truncate=False).data
    inflater = MemberInflater(io.BytesIO(data), 0)
    positions = [record.stream_pos for record in ArchiveIterator(inflater, parse_http=False)]
    # every member is read by now: each position must still map to its own member, not the latest one
    assert [inflater.offset_of(p) for p in positions] == [r[0] for r in _parsed(io.BytesIO(data))]


def test_runs_of_empty_members_cost_one_entry_and_map_to_the_record_after_them() -> None:
    record = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n"
    empty = gzip.compress(b"")
    data = empty * 50_000 + gzip.compress(record)
    inflater = MemberInflater(io.BytesIO(data), 0)
    assert _parsed(inflater, inflater.offset_of) == [(len(empty) * 50_000, "resource", "", b"hi")]
    inflater = MemberInflater(io.BytesIO(data), 0)
    while inflater.read(1 << 16):
        pass
    assert len(inflater._members) == 1  # not 50,001: the table does not grow with members that gave nothing


def test_a_record_spread_over_too_many_members_is_corrupt_not_a_growing_table() -> None:
    from crawler.backfill import inflate

    block = b"x" * (inflate.MAX_MEMBERS_AHEAD + 10)
    head = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: %d\r\n\r\n" % len(block)
    data = gzip.compress(head) + b"".join(gzip.compress(block[i:i + 1]) for i in range(len(block)))
    inflater = MemberInflater(io.BytesIO(data), 0)
    with pytest.raises(CorruptMember, match="members in one record"):
        while inflater.read(1 << 16):
            pass
    assert len(inflater._members) == inflate.MAX_MEMBERS_AHEAD
    small = gzip.compress(head[:-len(str(len(block))) - 4] + b"1000\r\n\r\n") + b"".join(
        gzip.compress(b"y") for _ in range(1000)) + gzip.compress(b"\r\n\r\n")
    spread = MemberInflater(io.BytesIO(small), 0)  # a record over a thousand members still reads
    assert _parsed(spread, spread.offset_of) == [(0, "resource", "", b"y" * 1000)]


def test_an_uncompressed_file_named_gz_reads_whole_in_reads_no_longer_than_asked() -> None:
    plain = gzip.decompress(build_warc(7, 1, articles=6, others=40, truncate=False).data)
    assert len(plain) > 2 * (1 << 16)  # longer than one of fastwarc's reads
    inflater = MemberInflater(io.BytesIO(plain), 0)
    assert _parsed(inflater, inflater.offset_of) == _parsed(io.BytesIO(plain))
    again = MemberInflater(io.BytesIO(plain), 0)
    assert [len(again.read(1000)) for _ in range(3)] == [1000, 1000, 1000]
