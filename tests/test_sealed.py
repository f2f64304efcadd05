"""Sealed JSON Lines files: readers never see a partial line; leftovers are recovered."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.storage.sealed import SealedFile, recover_part


def test_lines_are_invisible_until_sealed(tmp_path: Path) -> None:
    sealed = SealedFile(tmp_path / "articles" / "2026-11-21", "run-00001")
    sealed.write({"url": "http://127.0.0.1/a", "text": "Ünïcode ✓"})
    sealed.write({"url": "http://127.0.0.1/b", "text": "second"})
    assert list(tmp_path.rglob("*.jsonl")) == []
    assert sealed.part.exists()
    final = sealed.seal()
    assert final == tmp_path / "articles" / "2026-11-21" / "run-00001.jsonl"
    assert not sealed.part.exists()
    lines = final.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["url"] for x in lines] == ["http://127.0.0.1/a", "http://127.0.0.1/b"]
    assert "Ünïcode ✓" in lines[0]  # UTF-8, not \u escapes


def test_empty_file_is_removed_not_sealed(tmp_path: Path) -> None:
    sealed = SealedFile(tmp_path, "run-00001")
    assert sealed.seal() is None
    assert list(tmp_path.iterdir()) == []


def test_recovery_cuts_the_torn_line_and_keeps_the_rest(tmp_path: Path) -> None:
    part = tmp_path / "run-00001.part"
    part.write_bytes(b'{"url": "a"}\n{"url": "b"}\n{"url": "c", "te')
    final, records = recover_part(part)
    assert [r["url"] for r in records] == ["a", "b"]
    assert final == tmp_path / "run-00001.jsonl"
    assert final.read_bytes() == b'{"url": "a"}\n{"url": "b"}\n'
    assert not part.exists()


def test_recovery_of_a_part_with_no_complete_line_removes_it(tmp_path: Path) -> None:
    part = tmp_path / "run-00002.part"
    part.write_bytes(b'{"url": "tor')
    assert recover_part(part) == (None, [])
    assert list(tmp_path.iterdir()) == []


def test_a_live_writers_part_is_not_recovered(tmp_path: Path) -> None:
    import pytest

    from pipelines.storage.sealed import PartInUse

    live = SealedFile(tmp_path, "worker-a-00001")
    live.write({"url": "a"})
    with pytest.raises(PartInUse):
        recover_part(live.part)
    assert live.seal() == tmp_path / "worker-a-00001.jsonl"
