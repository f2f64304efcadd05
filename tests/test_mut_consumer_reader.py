"""The consumer API in-process: what a read delivers, skips and says, what an acknowledgement commits.

``autonews read`` checks the same through a subprocess (``tests/test_consumer*.py``), which issue
25's mutation run cannot see; these tests call :class:`Consumer` and the functions under it on
output directories written as the storage code writes them (and then damaged by hand).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from pipelines.consumer import AckError, Consumer, ConsumerBusy, Cursor, Entry, EntryError, Skipped
from pipelines.consumer.reader import entry_path, read_entry, scan_manifest_lines
from pipelines.storage.manifest import ManifestEntry, ManifestError, parse_line

DAY = "articles/2026-11-21"


def records_of(stem: str, count: int) -> list[dict[str, Any]]:
    """``count`` small records of one file."""
    return [{"url": f"http://x.example/{stem}/{n}", "schema_version": 3, "text": "t"} for n in range(count)]


def write_file(root: Path, stem: str, count: int) -> tuple[str, bytes]:
    """A sealed file of ``count`` records; its manifest name and content."""
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records_of(stem, count))
    path = root / DAY / f"{stem}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{DAY}/{stem}.jsonl", data


def line_for(seq: int, name: str, data: bytes, records: int | None = None, **extra: Any) -> bytes:
    """The manifest line listing ``data`` as file ``name``."""
    fields = {"seq": seq, "file": name, "records": data.count(b"\n") if records is None else records,
              "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "run_id": "r",
              "sealed_at": "2026-11-21T10:00:00+00:00", "schema_version": 3, **extra}
    return json.dumps(fields).encode() + b"\n"


def publish(root: Path, *lines: bytes) -> None:
    """Append raw lines to the manifest."""
    with open(root / "manifest.jsonl", "ab") as fh:
        fh.write(b"".join(lines))


def sealed(root: Path, seq: int, count: int) -> bytes:
    """Write a file of ``count`` records and return its manifest line (not appended)."""
    name, data = write_file(root, f"r-{seq:05d}", count)
    return line_for(seq, name, data)


def entry_of(line: bytes) -> ManifestEntry:
    """The parsed manifest line."""
    return parse_line(line.rstrip(b"\n"))


def error_of(line: bytes) -> str:
    """What ``parse_line`` says about a garbled line."""
    with pytest.raises(ManifestError) as caught:
        parse_line(line)
    return str(caught.value)


# --- scanning the manifest -------------------------------------------------------------------------------------------


def test_garbled_lines_are_numbered_and_placed_after_the_valid_line_before_them(tmp_path: Path) -> None:
    long_garbage = json.dumps({"file": "x" * 500}).encode()  # no seq: its error message quotes all of it
    lines = [b"not json", sealed(tmp_path, 1, 1), b"", sealed(tmp_path, 2, 1), b"[1]", b"   ",
             sealed(tmp_path, 3, 1), long_garbage]
    publish(tmp_path, *(line.rstrip(b"\n") + b"\n" for line in lines), b'{"seq": 4, "fi')  # last line still written
    entries, garbled = scan_manifest_lines(tmp_path)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert garbled == [(0, f"manifest line 1: {error_of(b'not json')}"),
                       (2, f"manifest line 5: {error_of(b'[1]')}"),
                       (3, f"manifest line 8: {error_of(long_garbage)[:200]}")]
    assert len(error_of(long_garbage)) > 200


def test_a_manifest_that_is_not_a_regular_file_cannot_be_read(tmp_path: Path) -> None:
    assert scan_manifest_lines(tmp_path) == ([], [])
    (tmp_path / "manifest.jsonl").mkdir()
    with pytest.raises(ManifestError) as caught:
        scan_manifest_lines(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'manifest.jsonl'} is a directory, not a regular file: cannot read the manifest"


# --- one entry's file -----------------------------------------------------------------------------------------------


def test_an_entry_names_a_file_inside_the_output_directory(tmp_path: Path) -> None:
    name, data = write_file(tmp_path, "r-00001", 1)
    assert entry_path(tmp_path, entry_of(line_for(1, name, data))) == (tmp_path / name).resolve()
    nul = "articles/" + "a" * 300 + "\x00.jsonl"
    with pytest.raises(EntryError) as caught:
        entry_path(tmp_path, entry_of(line_for(7, nul, data)))
    assert str(caught.value) == f"manifest seq 7 names a file with a NUL byte: {nul[:200]!r}"
    escape = "../" + "b" * 400 + ".jsonl"
    with pytest.raises(EntryError) as out:
        entry_path(tmp_path, entry_of(line_for(8, escape, data)))
    reason = f"manifest names a file outside the output directory: {escape!r}"
    assert str(out.value) == f"manifest seq 8: {reason[:300]}"


def test_a_file_is_delivered_only_when_it_matches_its_line_in_every_way(tmp_path: Path) -> None:
    name, data = write_file(tmp_path, "r-00001", 3)
    where = f"{name} (manifest seq 1)"
    assert read_entry(tmp_path, entry_of(line_for(1, name, data))) == records_of("r-00001", 3)
    assert read_entry(tmp_path, entry_of(line_for(1, name, data)), max_file_bytes=len(data)) == records_of("r-00001", 3)
    checks = {
        "too large": (line_for(1, name, data), len(data) - 1,
                      f"{where}: {len(data)} bytes, more than the {len(data) - 1} a reader accepts"),
        "size": (line_for(1, name, data + b"{}\n"), 1 << 20,
                 f"{where} does not match its manifest line (is {len(data)} bytes, not {len(data) + 3}): "
                 "changed after sealing"),
        "count": (line_for(1, name, data, records=4), 1 << 20, f"{where}: 3 records, the manifest says 4"),
    }
    for label, (line, bound, message) in checks.items():
        with pytest.raises(EntryError) as caught:
            read_entry(tmp_path, entry_of(line), max_file_bytes=bound)
        assert str(caught.value) == message, label
    # one byte changed, size kept: only the sha256 tells
    changed = data.replace(b'"t"', b'"T"', 1)
    (tmp_path / name).write_bytes(changed)
    with pytest.raises(EntryError) as tampered:
        read_entry(tmp_path, entry_of(line_for(1, name, data)))
    assert str(tampered.value) == f"{where} does not match its manifest line: changed after sealing"


def test_a_file_that_is_gone_not_regular_or_not_records_is_refused_with_the_reason(tmp_path: Path) -> None:
    name, data = write_file(tmp_path, "r-00001", 1)
    (tmp_path / name).unlink()
    with pytest.raises(EntryError) as gone:
        read_entry(tmp_path, entry_of(line_for(1, name, data)))
    assert str(gone.value) == f"cannot read {name} (manifest seq 1): No such file or directory"
    (tmp_path / name).mkdir()
    with pytest.raises(EntryError) as directory:
        read_entry(tmp_path, entry_of(line_for(1, name, data)))
    assert str(directory.value) == f"{name} (manifest seq 1) is a directory, not a regular file"
    for body in (b"[1, 2]\n", b"not json\n", b"[" * 100_000 + b"\n"):
        other, _ = write_file(tmp_path, f"r-{len(body):05d}", 0)
        (tmp_path / other).write_bytes(body)
        with pytest.raises(EntryError) as caught:
            read_entry(tmp_path, entry_of(line_for(2, other, body)))
        assert str(caught.value) == f"{other} (manifest seq 2): a line is not a JSON object (or is nested too deep)"


# --- the consumer --------------------------------------------------------------------------------------------------


def test_a_bad_file_is_set_aside_and_the_files_after_it_are_delivered(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    bad_name, bad_data = write_file(tmp_path, "r-00002", 2)
    publish(tmp_path, sealed(tmp_path, 1, 1), line_for(2, bad_name, bad_data + b"{}\n"), b"garbled\n",
            sealed(tmp_path, 3, 2), sealed(tmp_path, 4, 1))
    consumer = Consumer(tmp_path, "c")
    with caplog.at_level(logging.WARNING, logger="pipelines.consumer"):
        batches = list(consumer.batches())
    assert [(b.seq, b.records) for b in batches] == [(1, records_of("r-00001", 1)), (3, records_of("r-00003", 2)),
                                                      (4, records_of("r-00004", 1))]
    garbled = f"manifest line 3: {error_of(b'garbled')} (garbled, set aside)"
    size = (f"{bad_name} (manifest seq 2) does not match its manifest line (is {len(bad_data)} bytes, not "
            f"{len(bad_data) + 3}): changed after sealing")
    assert consumer.skipped == [Skipped(None, None, garbled), Skipped(2, bad_name, size)]
    assert [r.getMessage() for r in caplog.records] == [f"skipped {garbled}", f"skipped {size}"]


def test_a_file_over_the_consumers_bound_is_set_aside(tmp_path: Path) -> None:
    publish(tmp_path, sealed(tmp_path, 1, 1), sealed(tmp_path, 2, 3))
    small = len((tmp_path / DAY / "r-00001.jsonl").read_bytes())
    consumer = Consumer(tmp_path, "c", max_file_bytes=small)
    assert [b.seq for b in consumer.batches()] == [1]
    assert [(s.seq, s.file) for s in consumer.skipped] == [(2, f"{DAY}/r-00002.jsonl")]
    assert "more than the" in consumer.skipped[0].reason
    with pytest.raises(EntryError):
        consumer.read(entry_of(sealed(tmp_path, 2, 3)))


def test_reading_one_entry_gives_a_batch_whose_entry_reads_like_its_line(tmp_path: Path) -> None:
    line = sealed(tmp_path, 1, 2)
    publish(tmp_path, line)
    batch = Consumer(tmp_path, "c").read(entry_of(line))
    assert isinstance(batch.entry, Entry) and batch.seq == 1 and batch.records == records_of("r-00001", 2)
    assert batch.entry["file"] == f"{DAY}/r-00001.jsonl" and batch.entry.as_dict() == json.loads(line)
    with pytest.raises(KeyError) as caught:
        batch.entry["nope"]
    assert caught.value.args == ("nope",)


def test_a_garbled_line_after_the_committed_position_is_still_reported(tmp_path: Path) -> None:
    publish(tmp_path, sealed(tmp_path, 1, 1), b"garbled after one\n", sealed(tmp_path, 2, 1), b"garbled after two\n")
    consumer = Consumer(tmp_path, "c")
    consumer.ack(1)
    assert [e.seq for e in consumer.entries()] == [2]
    assert [s.reason.split(":")[0] for s in consumer.skipped] == ["manifest line 2", "manifest line 4"]
    consumer.ack(2)
    consumer.skipped.clear()
    assert consumer.entries() == [] and [s.reason.split(":")[0] for s in consumer.skipped] == ["manifest line 4"]


def test_acknowledging_commits_exactly_what_it_names(tmp_path: Path) -> None:
    publish(tmp_path, sealed(tmp_path, 1, 1), sealed(tmp_path, 2, 1), sealed(tmp_path, 3, 1))
    consumer = Consumer(tmp_path, "c")
    assert consumer.last_seq() == 3
    assert consumer.ack(0) == 0 and consumer.cursor == Cursor(0, 0)  # nothing, as the very first position
    consumer.mark_pending(3)  # a read delivered through 3
    assert consumer.cursor == Cursor(0, 3)
    assert consumer.ack(1) == 1 and consumer.cursor == Cursor(1, 3)  # still pending: what was delivered, not acked
    path = tmp_path / "consumers" / "c.json"
    before = os.stat(path).st_ino
    assert consumer.ack(1) == 1 and consumer.ack(0) == 1  # already committed: nothing is written
    assert os.stat(path).st_ino == before
    [batch] = [b for b in consumer.batches() if b.seq == 3]
    assert consumer.ack(batch) == 3 and consumer.cursor == Cursor(3, 3)
    with pytest.raises(AckError) as beyond:
        consumer.ack(4)
    assert str(beyond.value) == ("manifest seq 4 does not exist (the manifest ends at seq 3); acknowledge the seq "
                                 "that the read named")
    for wrong in (-1, True, "2", 2.0, None):
        with pytest.raises(AckError) as caught:
            consumer.ack(wrong)  # type: ignore[arg-type]
        assert str(caught.value) == f"not a manifest seq: {wrong!r}"


def test_an_empty_output_has_nothing_to_acknowledge(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet"
    consumer = Consumer(root, "c")
    assert consumer.last_seq() == 0 and list(consumer.batches()) == [] and consumer.ack(0) == 0
    assert (root / "consumers").is_dir()  # the reader made its own directory (and the output's) to lock in
    with pytest.raises(AckError) as caught:
        consumer.ack(1)
    assert str(caught.value).startswith("manifest seq 1 does not exist (the manifest ends at seq 0)")


def test_marking_pending_records_the_furthest_delivery_and_writes_only_a_change(tmp_path: Path) -> None:
    publish(tmp_path, sealed(tmp_path, 1, 1), sealed(tmp_path, 2, 1))
    consumer = Consumer(tmp_path, "c")
    consumer.mark_pending(2)
    assert consumer.cursor == Cursor(0, 2)
    path = tmp_path / "consumers" / "c.json"
    before = os.stat(path).st_ino
    consumer.mark_pending(2)
    assert os.stat(path).st_ino == before
    consumer.ack(2)
    consumer.mark_pending(1)  # behind what is committed: nothing is pending
    assert consumer.cursor == Cursor(2, 2)
    assert json.loads(path.read_text(encoding="utf-8"))["pending"] == 2


def test_the_lock_is_held_for_the_whole_with_block_across_nested_reads(tmp_path: Path) -> None:
    publish(tmp_path, sealed(tmp_path, 1, 1), sealed(tmp_path, 2, 1))
    with Consumer(tmp_path, "c") as holder:
        assert [b.seq for b in holder.batches()] == [1, 2]
        holder.ack(2)
        holder.mark_pending(2)
        with pytest.raises(ConsumerBusy) as busy:  # still held after the nested reads ended
            Consumer(tmp_path, "c").ack(1)
        assert str(busy.value).startswith(f"consumer c is being read by another process (pid {os.getpid()})")
    assert Consumer(tmp_path, "c").ack(2) == 2  # released when the block ends
