"""The safe-file primitives never write through a planted link and clean only dead writers' temps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.storage import safefs


def test_atomic_write_replaces_a_planted_link_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "report.html"
    target.symlink_to(victim)
    safefs.atomic_write(target, "new")
    assert victim.read_text() == "precious"
    assert not target.is_symlink() and target.read_text() == "new"


def test_create_new_refuses_an_existing_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "x.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        safefs.create_new(tmp_path / "x.tmp")
    assert victim.read_text() == "precious"


def test_touch_probe_leaves_nothing_and_ignores_links(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        (tmp_path / f".autonews-probe-{pid}").symlink_to(victim)
    before = sorted(os.listdir(tmp_path))
    safefs.touch_probe(tmp_path, ".autonews-probe")
    assert sorted(os.listdir(tmp_path)) == before
    assert victim.read_text() == "precious"


def test_clean_stale_temps_removes_dead_writers_only(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".cursor.json.{dead}.0123abcd.tmp"
    stale.write_text("x")
    live = safefs.temp_path(tmp_path / "cursor.json")
    live.write_text("y")
    other = tmp_path / "keep.tmp"
    other.write_text("z")
    assert safefs.clean_stale_temps(tmp_path) == 1
    assert not stale.exists() and live.exists() and other.exists()


def test_open_existing_refuses_a_link_and_a_fifo_and_opens_a_regular_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "manifest.jsonl").symlink_to(victim)
    with pytest.raises(safefs.NotRegularFile, match="symbolic link"):
        safefs.open_existing(tmp_path / "manifest.jsonl", os.O_RDWR | os.O_APPEND | os.O_CREAT)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(safefs.NotRegularFile, match="not a regular file"):  # and does not block on it
        safefs.open_existing(tmp_path / "fifo", os.O_RDONLY)
    fd = safefs.open_existing(tmp_path / "new", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"x")
    os.close(fd)
    assert (tmp_path / "new").read_bytes() == b"x" and victim.read_text() == "precious"


def test_write_temp_leaves_a_temporary_name_that_a_later_cleanup_of_a_dead_writer_removes(tmp_path: Path) -> None:
    tmp = safefs.write_temp(tmp_path / "x.jsonl", "data\n")
    assert tmp.read_text() == "data\n" and tmp.name.startswith(".x.jsonl.") and tmp.suffix == ".tmp"
    assert safefs.clean_stale_temps(tmp_path) == 0  # ours: alive
