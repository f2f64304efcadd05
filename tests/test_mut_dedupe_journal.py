"""The drop journal in-process (pipelines.dedupe.journal): what is written is read back, and nothing else.

The rebuild tests check the journal through the CLI (a subprocess the mutation run cannot see). Here:
lines round-trip, a run's journal is created in an output directory of other runs, a torn last line and
garbled lines are skipped, links are never followed, and a line only ever yields http(s) URLs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipelines.dedupe.journal import JOURNAL_DIR, MAX_ALIASES, NOT_ARTICLE, DropJournal, DroppedCopy, read_journal

NEAR = DroppedCopy("https://b.example/copy", ("https://b.example/r/1", "https://b.example/amp"),
                   "https://a.example/story", "near_duplicate")
PAGE = DroppedCopy("https://a.example/tag/ev", (), "", NOT_ARTICLE, "2026-11-20T10:00:00+00:00")


def write(root: Path, run: str, *copies: DroppedCopy) -> Path:
    journal = DropJournal(root, run)
    for copy in copies:
        journal.record(copy)
    journal.close()
    return journal.path


def test_copies_round_trip_one_line_each(tmp_path: Path) -> None:
    root = tmp_path / "out"  # not there yet: the journal makes its directories
    path = write(root, "20261120T100000Z-w-1", NEAR, PAGE)
    assert path == root / JOURNAL_DIR / "20261120T100000Z-w-1.ndjson"
    assert list(read_journal(root)) == [NEAR, PAGE]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert json.loads(lines[0]) == {"canonical_url": NEAR.canonical_url, "aliases": list(NEAR.aliases),
                                    "duplicate_of": NEAR.duplicate_of, "kind": "near_duplicate", "seen_at": ""}
    assert (path.stat().st_mode & 0o777) == 0o644 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_nothing_is_created_until_a_copy_is_recorded_and_close_is_idempotent(tmp_path: Path) -> None:
    journal = DropJournal(tmp_path, "run-1")
    journal.close()
    journal.close()
    assert not (tmp_path / JOURNAL_DIR).exists()
    journal.record(NEAR)
    journal.close()
    journal.close()  # closing twice is harmless
    assert list(read_journal(tmp_path)) == [NEAR]


def test_runs_share_the_directory_and_are_read_oldest_first(tmp_path: Path) -> None:
    write(tmp_path, "20261121T000000Z-w-2", PAGE)
    write(tmp_path, "20261120T000000Z-w-1", NEAR)  # the directory is already there
    assert list(read_journal(tmp_path)) == [NEAR, PAGE]


def test_a_journal_is_never_written_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / JOURNAL_DIR).mkdir()
    (tmp_path / JOURNAL_DIR / "run-1.ndjson").symlink_to(victim)
    with pytest.raises(FileExistsError):
        DropJournal(tmp_path, "run-1").record(NEAR)
    assert victim.read_text() == "keep\n"


def test_no_journal_directory_reads_as_empty(tmp_path: Path) -> None:
    assert list(read_journal(tmp_path)) == []
    assert list(read_journal(tmp_path / "missing")) == []


def _raw(root: Path, name: str, data: bytes) -> None:
    (root / JOURNAL_DIR).mkdir(exist_ok=True)
    (root / JOURNAL_DIR / name).write_bytes(data)


def _line(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    good = _line(canonical_url="https://a.example/1", aliases=[], duplicate_of="https://a.example/0", kind="k")
    torn = _line(canonical_url="https://a.example/2")[:-1]
    _raw(tmp_path, "a.ndjson", good + good.replace(b"/1", b"/3") + torn)
    assert [c.canonical_url for c in read_journal(tmp_path)] == ["https://a.example/1", "https://a.example/3"]
    _raw(tmp_path, "a.ndjson", torn)  # only a torn line
    assert list(read_journal(tmp_path)) == []


@pytest.mark.parametrize("line", [
    b"not json\n",
    b"[1, 2]\n",
    b'"https://a.example/x"\n',
    _line(aliases=["https://a.example/x"]),  # no canonical URL
    _line(canonical_url=5),
    _line(canonical_url="ftp://a.example/x"),
    _line(canonical_url="javascript:alert(1)"),
    _line(canonical_url="/local/path"),
])
def test_garbled_lines_are_ignored_and_the_next_ones_read(tmp_path: Path, line: bytes) -> None:
    after = _line(canonical_url="https://a.example/ok", aliases=[], duplicate_of="", kind=NOT_ARTICLE)
    _raw(tmp_path, "a.ndjson", line + after)
    assert [c.canonical_url for c in read_journal(tmp_path)] == ["https://a.example/ok"]


def test_only_http_aliases_are_kept_and_at_most_max_aliases(tmp_path: Path) -> None:
    aliases = ["http://a.example/1", "file:///etc/passwd", 7, None, "https://a.example/2", "HTTPS://a.example/3"]
    aliases += [f"https://a.example/more/{n}" for n in range(MAX_ALIASES)]
    _raw(tmp_path, "a.ndjson", _line(canonical_url="http://a.example/c", aliases=aliases) +
         _line(canonical_url="https://a.example/d", aliases="https://a.example/not-a-list"))
    first, second = read_journal(tmp_path)
    assert first.aliases == ("http://a.example/1", "https://a.example/2",
                             *(f"https://a.example/more/{n}" for n in range(MAX_ALIASES - 6)))
    assert first.duplicate_of == "" and first.kind == "" and first.seen_at == ""  # missing fields read as empty
    assert second.aliases == ()


def test_every_field_is_read_back(tmp_path: Path) -> None:
    _raw(tmp_path, "a.ndjson", _line(canonical_url="https://a.example/c", aliases=[], duplicate_of="https://o.example/",
                                     kind=NOT_ARTICLE, seen_at="2026-11-20T10:00:00+00:00"))
    assert list(read_journal(tmp_path)) == [DroppedCopy("https://a.example/c", (), "https://o.example/", NOT_ARTICLE,
                                                        "2026-11-20T10:00:00+00:00")]


def test_links_and_non_files_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.ndjson").write_bytes(_line(canonical_url="https://evil.example/planted"))
    root = tmp_path / "out"
    root.mkdir()
    (root / JOURNAL_DIR).symlink_to(outside, target_is_directory=True)
    assert list(read_journal(root)) == []  # a linked journal directory is not read at all

    (root / JOURNAL_DIR).unlink()
    _raw(root, "b.ndjson", _line(canonical_url="https://a.example/kept"))
    (root / JOURNAL_DIR / "a.ndjson").symlink_to(outside / "x.ndjson")  # sorts first: skipped, the rest still read
    (root / JOURNAL_DIR / "a2.ndjson").mkdir()
    (root / JOURNAL_DIR / "c.jsonl").write_bytes(_line(canonical_url="https://a.example/other-suffix"))
    assert [c.canonical_url for c in read_journal(root)] == ["https://a.example/kept"]
