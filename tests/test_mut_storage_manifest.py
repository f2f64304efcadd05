"""The manifest in-process, at its edges (pipelines.storage.manifest), found by the mutation run (issue 25).

What each line says about its file (records, bytes, digest, schema, time, kind), how writers sharing a
manifest keep their place in it (a replaced or grown manifest, garbled lines warned about once), what a
repair lists and when, and the order sealed files are listed in.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipelines.storage import manifest as manifest_module
from pipelines.storage.manifest import (ARTICLES, WARC, Manifest, ManifestEntry, ManifestError, describe, parse_line,
                                        read_manifest, resolve_entry_file, sealed_files, sealed_warc_files)

MANIFEST_LOG = "pipelines.storage.manifest"


def jsonl(root: Path, rel: str, *records: dict, raw: bytes | None = None) -> Path:
    """A sealed file at ``root/rel`` holding ``records`` (or ``raw`` bytes)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else b"".join(json.dumps(r).encode() + b"\n" for r in records))
    return path


# --- describe -------------------------------------------------------------------------------------------

def test_describe_reads_the_first_records_schema(tmp_path: Path) -> None:
    path = jsonl(tmp_path, "a.jsonl", {"schema_version": 1, "text": "a b c"}, {"schema_version": 9, "text": "d e"})
    data = path.read_bytes()
    assert describe(path) == (2, len(data), hashlib.sha256(data).hexdigest(), 1)


@pytest.mark.parametrize(("records", "schema"), [
    (({"text": "no schema"},), None),
    (({"schema_version": "2"},), None),  # not an integer: not believed
    (({"schema_version": 3},), 3),
])
def test_describe_believes_only_an_integer_schema(tmp_path: Path, records: tuple, schema: int | None) -> None:
    assert describe(jsonl(tmp_path, "a.jsonl", *records))[3] == schema


def test_describe_an_empty_or_odd_file(tmp_path: Path) -> None:
    assert describe(jsonl(tmp_path, "e.jsonl", raw=b"")) == (0, 0, hashlib.sha256(b"").hexdigest(), None)
    assert describe(jsonl(tmp_path, "l.jsonl", raw=b"[1, 2]\n"))[3] is None  # JSON, but not an object
    assert describe(jsonl(tmp_path, "n.jsonl", raw=b"{not json\n"))[3] is None


def test_describe_a_file_bigger_than_one_read(tmp_path: Path) -> None:
    first = {"schema_version": 5, "text": "x " * 100}
    other = json.dumps({"schema_version": 6, "text": "y" * 1000}).encode() + b"\n"
    path = jsonl(tmp_path, "big.jsonl", raw=json.dumps(first).encode() + b"\n" + other * 3000)  # ~3 MB
    data = path.read_bytes()
    assert len(data) > 2 * (1 << 20)
    assert describe(path) == (3001, len(data), hashlib.sha256(data).hexdigest(), 5)


# --- lines ----------------------------------------------------------------------------------------------

def entry(**changes: object) -> ManifestEntry:
    values = dict(seq=1, file="articles/2026-11-21/r-00001.jsonl", records=2, bytes=10, sha256="ab" * 32,
                  run_id="r", sealed_at="2026-11-21T10:00:00+00:00", schema_version=4)
    values.update(changes)
    return ManifestEntry(**values)  # type: ignore[arg-type]


def test_only_other_kinds_than_articles_name_their_kind() -> None:
    assert "kind" not in json.loads(entry().to_line())
    assert json.loads(entry(kind=WARC, file="warc/2026-11-21/r-00001.warc.gz").to_line())["kind"] == "warc"
    assert parse_line(entry().to_line()) == entry()


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.jsonl", "a/../../x.jsonl", "a\\b.jsonl", "~/x.jsonl", "",
                                  "articles/x.txt"])
def test_names_outside_the_output_or_of_the_wrong_kind_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ManifestError, match="outside the output directory"):
        resolve_entry_file(tmp_path, name)


def test_each_refusal_rule_stands_alone(tmp_path: Path) -> None:
    # a backslash alone (no "~"), "~" alone (no backslash), ".." alone (no backslash): each is refused
    for name in ("articles\\2026\\x.jsonl", "~x/a.jsonl", "articles/../articles/x.jsonl"):
        with pytest.raises(ManifestError):
            resolve_entry_file(tmp_path, name)
    assert resolve_entry_file(tmp_path, "articles/2026-11-21/x.jsonl") == tmp_path.resolve() / "articles/2026-11-21/x.jsonl"
    assert resolve_entry_file(tmp_path, "warc/d/x.warc.gz", WARC).name == "x.warc.gz"
    with pytest.raises(ManifestError):
        resolve_entry_file(tmp_path, "warc/d/x.warc.gz", "unknown-kind")


# --- appending ------------------------------------------------------------------------------------------

def test_a_line_says_when_in_utc_seconds_and_falls_back_to_the_writers_schema(tmp_path: Path) -> None:
    with_schema = jsonl(tmp_path, "articles/d/r-00001.jsonl", {"schema_version": 1})
    without = jsonl(tmp_path, "articles/d/r-00002.jsonl", {"url": "x"})
    first, second = Manifest(tmp_path, 4).append([with_schema, without])
    assert (first.schema_version, second.schema_version) == (1, 4)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", first.sealed_at)
    moment = datetime.fromisoformat(first.sealed_at)
    assert abs((datetime.now(timezone.utc) - moment).total_seconds()) < 5
    assert (first.kind, first.records) == (ARTICLES, 1)


def test_a_listed_or_missing_file_does_not_stop_the_others(tmp_path: Path) -> None:
    a = jsonl(tmp_path, "articles/d/r-00001.jsonl", {"n": 1})
    b = jsonl(tmp_path, "articles/d/r-00002.jsonl", {"n": 2})
    manifest = Manifest(tmp_path, 4)
    manifest.append([a])
    added = manifest.append([a, tmp_path / "articles/d/gone.jsonl", b])
    assert [(e.seq, e.file) for e in added] == [(2, "articles/d/r-00002.jsonl")]


def test_the_manifests_directory_is_synced_when_the_manifest_is_created(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(manifest_module, "fsync_dir", lambda path: synced.append(Path(path)))
    manifest = Manifest(tmp_path, 4)
    manifest.append([jsonl(tmp_path, "articles/d/r-00001.jsonl", {"n": 1})])
    assert synced == [tmp_path]  # a new name in the directory
    manifest.append([jsonl(tmp_path, "articles/d/r-00002.jsonl", {"n": 2})])
    assert synced == [tmp_path]  # an append to an existing file: nothing new in the directory


def warc_file(root: Path, rel: str, records: int = 2) -> Path:
    head = (b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Target-URI: https://x.example/\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
            b"WARC-Date: 2026-01-01T00:00:00Z\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\ndata\r\n\r\n")
    return jsonl(root, rel, raw=b"".join(gzip.compress(head) for _ in range(records)))


def test_warc_files_are_listed_with_the_record_count_given_or_counted(tmp_path: Path) -> None:
    given = warc_file(tmp_path, "warc/2026-01-01/r-00001.warc.gz")
    counted = warc_file(tmp_path, "warc/2026-01-01/r-00002.warc.gz", records=3)
    garbage = jsonl(tmp_path, "warc/2026-01-01/r-00003.warc.gz", raw=b"not a WARC file")
    manifest = Manifest(tmp_path, 4)
    (first,) = manifest.append([given], kind=WARC, records=99)  # what the writer counted is believed
    (second,) = manifest.append([counted], kind=WARC)
    (third,) = manifest.append([garbage], kind=WARC)
    assert [(e.kind, e.records, e.schema_version) for e in (first, second, third)] == [(WARC, 99, 4), (WARC, 3, 4),
                                                                                       (WARC, 0, 4)]
    data = counted.read_bytes()
    assert (second.bytes, second.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert read_manifest(tmp_path) == [first, second, third]


def test_repair_lists_missing_warc_files_once_with_their_times(tmp_path: Path) -> None:
    listed = warc_file(tmp_path, "warc/2026-01-01/r-00001.warc.gz")
    missing = warc_file(tmp_path, "warc/2026-01-02/r-00002.warc.gz", records=3)
    article = jsonl(tmp_path, "articles/2026-01-02/r-00003.jsonl", {"schema_version": 2})
    Manifest(tmp_path, 4).append([listed], kind=WARC, records=2)
    written = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()
    for path in (missing, article):
        os.utime(path, (written, written + 0.25))
    added = Manifest(tmp_path, 4).repair()
    assert [(e.file, e.kind, e.records, e.sealed_at) for e in added] == [
        ("articles/2026-01-02/r-00003.jsonl", ARTICLES, 1, "2026-01-02T03:04:05+00:00"),
        ("warc/2026-01-02/r-00002.warc.gz", WARC, 3, "2026-01-02T03:04:05+00:00")]
    assert Manifest(tmp_path, 4).repair() == []


def test_sealed_files_are_listed_by_name_that_is_by_time(tmp_path: Path) -> None:
    # name order (the run's time) is neither the route's nor the day directory's order
    other_route = jsonl(tmp_path, "articles-non-english/2026-11-22/20261120T090000Z-w-1-00001.jsonl", {"n": 1})
    earlier_day = jsonl(tmp_path, "articles/2026-11-20/20261121T090000Z-w-1-00002.jsonl", {"n": 2})
    assert list(sealed_files(tmp_path)) == [other_route, earlier_day]
    a = warc_file(tmp_path, "warc/2026-01-02/20260101T000000Z-w-1-00001.warc.gz")
    b = warc_file(tmp_path, "warc/2026-01-01/20260102T000000Z-w-1-00002.warc.gz")
    assert list(sealed_warc_files(tmp_path)) == [a, b]


# --- sharing one manifest -------------------------------------------------------------------------------

def test_writers_sharing_a_manifest_take_turns_without_losing_their_place(tmp_path: Path) -> None:
    one, two = Manifest(tmp_path, 4), Manifest(tmp_path, 4)
    files = [jsonl(tmp_path, f"articles/d/r-{n:05d}.jsonl", {"n": n}) for n in range(1, 8)]
    one.append(files[0:2])  # two lines in one call
    two.append(files[2:3])
    one.append(files[3:4])
    two.append(files[4:5])
    one.append(files[5:6])
    one.append(files[6:7])
    entries = read_manifest(tmp_path)
    assert [(e.seq, e.file.rsplit("/", 1)[1]) for e in entries] == [(n, f"r-{n:05d}.jsonl") for n in range(1, 8)]
    assert one.skipped == two.skipped == 0
    assert one.append(files) == [] and two.append(files) == []  # every file known to both


def test_a_manifest_replaced_behind_a_writers_back_is_read_again(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path, 4)
    files = [jsonl(tmp_path, f"articles/d/r-{n:05d}.jsonl", {"n": n}) for n in range(1, 5)]
    manifest.append(files[0:2])
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(entry(seq=5, file="articles/d/r-00002.jsonl").to_line())  # shorter: replaced
    added = manifest.append([files[0], files[1], files[2]])
    # numbering goes on from the new content; what it no longer lists is listed again
    assert [(e.seq, e.file) for e in added] == [(6, "articles/d/r-00001.jsonl"), (7, "articles/d/r-00003.jsonl")]
    assert manifest.skipped == 0
    path.write_bytes(b"")  # emptied
    (again,) = manifest.append([files[3]])
    assert again.seq == 1 and manifest.skipped == 0


def test_garbled_lines_are_warned_about_once_with_their_place(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = entry(seq=1, file="articles/d/r-00001.jsonl").to_line()
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(good + b"not json\n")
    manifest = Manifest(tmp_path, 4)
    files = [jsonl(tmp_path, f"articles/d/r-{n:05d}.jsonl", {"n": n}) for n in (2, 3)]
    with caplog.at_level(logging.WARNING, logger=MANIFEST_LOG):
        manifest.append(files[:1])
        manifest.append(files[1:])
    warnings = [r.getMessage() for r in caplog.records if r.name == MANIFEST_LOG]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Skipping a garbled line of {path}: byte {len(good)}: manifest line is not JSON")
    assert manifest.skipped == 1
    with open(path, "ab") as fh:  # another writer appends a garbled line: counted, with where it is
        fh.write(b"[]\n")
    offset = path.stat().st_size - 3
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=MANIFEST_LOG):
        manifest.append([jsonl(tmp_path, "articles/d/r-00004.jsonl", {"n": 4})])
    assert [r.getMessage() for r in caplog.records if r.name == MANIFEST_LOG] == [
        f"Skipping a garbled line of {path}: byte {offset}: manifest line is not an object"]
    assert manifest.skipped == 2
    assert [e.seq for e in read_manifest(tmp_path)] == [1, 2, 3, 4]


def test_describe_reads_a_first_record_longer_than_one_read(tmp_path: Path) -> None:
    """A first line over 1 MiB (a very long article) still tells its schema: it spans several reads."""
    first = {"schema_version": 1, "text": "long " * 500_000}  # ~2.5 MB
    path = jsonl(tmp_path, "articles/d/r-00001.jsonl", first, {"schema_version": 1, "text": "short"})
    assert describe(path)[3] == 1
    (entry,) = Manifest(tmp_path, 4).append([path])
    assert (entry.schema_version, entry.records) == (1, 2)
    without_newline = jsonl(tmp_path, "articles/d/r-00002.jsonl", raw=json.dumps(first).encode())  # torn: one line, no end
    assert describe(without_newline)[3] == 1


def test_describe_a_deeply_nested_first_line(tmp_path: Path) -> None:
    """A planted file whose first line nests without end is listed, its schema unknown (no RecursionError)."""
    path = jsonl(tmp_path, "articles/d/r-00001.jsonl", raw=b"[" * 100_000 + b"\n")
    assert describe(path)[3] is None
    (entry,) = Manifest(tmp_path, 4).repair()
    assert (entry.records, entry.schema_version) == (1, 4)


def test_describe_reads_a_bounded_first_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_module, "_MAX_FIRST_LINE", 100)
    fits = jsonl(tmp_path, "a.jsonl", {"schema_version": 1, "text": "x" * 50})
    too_long = jsonl(tmp_path, "b.jsonl", {"schema_version": 1, "text": "x" * 100})
    assert describe(fits)[3] == 1 and describe(too_long)[3] is None  # not read past the bound
    assert describe(too_long)[0] == 1  # the file itself is still counted whole


def test_an_absolute_name_is_refused_even_inside_the_output(tmp_path: Path) -> None:
    inside = tmp_path.resolve() / "articles" / "d" / "x.jsonl"
    with pytest.raises(ManifestError, match="outside the output directory"):
        resolve_entry_file(tmp_path, str(inside))


@pytest.mark.parametrize(("line", "reason"), [
    (b"[" * 100_000, "manifest line is nested too deep"),
    (b"[]", "manifest line is not an object"),
    (json.dumps({"seq": 1}).encode(), "manifest line has no valid 'file': {'seq': 1}"),
    (entry(kind="zip").to_line(), "manifest line has an unknown kind: 'zip'"),
])
def test_garbled_lines_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(ManifestError) as garbled:
        parse_line(line)
    assert str(garbled.value) == reason


def test_scanning_says_where_each_garbled_line_is_and_warns_about_the_first_three(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = entry().to_line()
    long_junk = json.dumps({"seq": 1, "note": "x" * 500}).encode() + b"\n"
    data = b"bad\n" + good + long_junk + b"[]\n" + b"{}\n" + b"7\n"
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger=MANIFEST_LOG):
        scan = manifest_module.scan_manifest(tmp_path)
    assert scan.entries == [entry()]
    offsets = [int(reason.split(":")[0].split()[1]) for reason in scan.skipped]
    assert offsets == [0, 4 + len(good), 4 + len(good) + len(long_junk), 7 + len(good) + len(long_junk),
                       10 + len(good) + len(long_junk)]
    messages = [r.getMessage() for r in caplog.records if r.name == MANIFEST_LOG]
    assert len(messages) == 4
    assert messages[0] == f"Skipping a garbled line of {path}: {scan.skipped[0]}"
    assert messages[1] == f"Skipping a garbled line of {path}: {scan.skipped[1][:300]}"  # long reasons cut
    assert len(scan.skipped[1]) > 300
    assert messages[3] == f"Skipping 2 more garbled line(s) of {path}"


def test_exactly_three_garbled_lines_are_each_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "manifest.jsonl").write_bytes(b"a\nb\nc\n")
    with caplog.at_level(logging.WARNING, logger=MANIFEST_LOG):
        assert len(manifest_module.scan_manifest(tmp_path).skipped) == 3
    assert len([r for r in caplog.records if r.name == MANIFEST_LOG]) == 3


def test_a_manifest_that_is_a_link_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_bytes(entry().to_line())
    (tmp_path / "manifest.jsonl").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ManifestError) as refused:
        read_manifest(tmp_path)
    assert str(refused.value) == f"{tmp_path / 'manifest.jsonl'}: a symbolic link, not followed"


def test_a_warc_file_bigger_than_one_read_is_measured_whole(tmp_path: Path) -> None:
    path = jsonl(tmp_path, "warc/d/r-00001.warc.gz", raw=os.urandom(5 << 19))  # 2.5 MiB
    (entry_,) = Manifest(tmp_path, 4).append([path], kind=WARC, records=1)
    assert (entry_.bytes, entry_.sha256) == (5 << 19, hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_new_manifest_has_the_usual_mode(tmp_path: Path) -> None:
    Manifest(tmp_path, 4).append([jsonl(tmp_path, "articles/d/r-00001.jsonl", {"n": 1})])
    mask = os.umask(0)
    os.umask(mask)
    assert ((tmp_path / "manifest.jsonl").stat().st_mode & 0o777) == 0o644 & ~mask
