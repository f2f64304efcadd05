"""Output file names, safe-file primitives and sealed files, at their edges (pipelines.storage.naming, safefs, sealed).

Found by the mutation run (issue 25): names must sort by UTC time and name their writer whatever the
machine's time zone or the worker id's dots; temporary files must have the shape the cleaner recognises,
the mode asked for, be fsynced when durable and never be left behind by a failure; stale ones are removed
only for processes that no longer run; a set-aside ``.part`` says why.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.storage import safefs
from pipelines.storage.naming import check_name, day_dir, file_run_id, instance_name, part_instance, run_id
from pipelines.storage.sealed import BadPart, PartInUse, SealedFile, recover_part
from tests.test_output_safety import dead_pid


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- naming ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [".", "..", "a/b", "../x", "", "a b", "é"])
def test_unsafe_names_are_refused_with_what_they_name(name: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_name("worker id", name)
    assert str(refused.value) == f"worker id {name!r} may only hold letters, digits, '.', '_' and '-'"


def test_safe_names_pass() -> None:
    for name in ("w1", "host.example", "a_b-c", "...", ".x"):
        assert check_name("worker id", name) == name
    with pytest.raises(ValueError, match="^worker id 'a/b' may"):
        instance_name("a/b")


def test_without_a_worker_id_the_host_name_names_the_writer() -> None:
    assert instance_name() == f"{socket.gethostname()}-{os.getpid()}"
    assert run_id().endswith(f"-{socket.gethostname()}-{os.getpid()}")
    assert instance_name("w2") == f"w2-{os.getpid()}"


@pytest.fixture
def local_day_is_not_the_utc_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    hour = datetime.now(timezone.utc).hour
    monkeypatch.setenv("TZ", "WEST12" if hour < 12 else "EAST-14")  # UTC-12 before noon UTC, UTC+14 after
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_run_ids_start_with_the_utc_time(local_day_is_not_the_utc_day: None) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    made = run_id("w1")
    after = datetime.now(timezone.utc)
    stamp, _, rest = made.partition("-")
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp) and rest == f"w1-{os.getpid()}"
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= moment <= after + timedelta(seconds=1)


def test_day_dir_routes_unknown_routes_to_articles(tmp_path: Path) -> None:
    assert day_dir(tmp_path, "", "2026-11-21") == tmp_path / "articles" / "2026-11-21"
    assert day_dir(tmp_path, "non-english", "2026-11-21") == tmp_path / "articles-non-english" / "2026-11-21"
    assert day_dir(tmp_path, "other", "2026-11-21") == tmp_path / "articles" / "2026-11-21"


@pytest.mark.parametrize(("name", "run"), [
    ("20261120T100000Z-w-1-00001.jsonl", "20261120T100000Z-w-1"),
    ("20261120T100000Z-w-1-00001.part", "20261120T100000Z-w-1"),
    ("20261120T100000Z-host.example-7-00002.jsonl", "20261120T100000Z-host.example-7"),  # dots in the worker id
    ("20261120T100000Z-host.example-7-00003.warc.gz", "20261120T100000Z-host.example-7"),
    ("20261120T100000Z-host.example-7-00004.warc.gz.part", "20261120T100000Z-host.example-7"),
    ("my old file-1.jsonl", "my old file"),  # older or foreign output: whatever precedes the last "-"
    ("garbage.jsonl", ""),
])
def test_file_run_id(name: str, run: str) -> None:
    assert file_run_id(Path("articles") / name) == run


@pytest.mark.parametrize(("name", "instance"), [
    ("20261120T100000Z-w-1-00001.part", "w-1"),
    ("20261120T100000Z-host.example-77-00012.part", "host.example-77"),
    ("20261120T100000Z-00001.part", None),  # no instance between the time and the number
    ("20261120T100000Z--00001.part", None),  # an empty one
    ("garbage.part", None),
    ("20261120T100000Z.part", None),
])
def test_part_instance(name: str, instance: str | None) -> None:
    assert part_instance(Path(name)) == instance


# --- safefs ---------------------------------------------------------------------------------------------

def test_temporary_names_have_the_shape_the_cleaner_recognises(tmp_path: Path) -> None:
    tmp = safefs.temp_path(tmp_path / "report.html")
    assert re.fullmatch(rf"\.report\.html\.{os.getpid()}\.[0-9a-f]{{8}}\.tmp", tmp.name)
    assert tmp.parent == tmp_path


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_write_temp_mode_durability_and_descriptors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    before = _fd_count()
    tmp = safefs.write_temp(tmp_path / "x.json", "Ünïcode")
    assert tmp.read_bytes() == "Ünïcode".encode() and synced  # durable by default
    assert (tmp.stat().st_mode & 0o777) == 0o644 & ~_umask()
    assert _fd_count() == before  # nothing left open
    synced.clear()
    private = safefs.write_temp(tmp_path / "y.json", b"x", mode=0o600, durable=False)
    assert (private.stat().st_mode & 0o777) == 0o600 and synced == []


def test_atomic_write_mode_and_durability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    target = tmp_path / "state.json"
    safefs.atomic_write(target, "{}")
    assert target.read_text() == "{}" and len(synced) == 2  # the file, then its directory
    assert (target.stat().st_mode & 0o777) == 0o644 & ~_umask()
    synced.clear()
    safefs.atomic_write(target, "[]", mode=0o600, durable=False)
    assert target.read_text() == "[]" and synced == []
    assert (target.stat().st_mode & 0o777) == 0o600


def test_failures_leave_no_temporary_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        safefs.write_temp(tmp_path / "x", 123)  # type: ignore[arg-type]  # not bytes: the write fails
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inside").write_text("x")
    with pytest.raises(OSError):
        safefs.atomic_write(tmp_path / "dir", "data")  # cannot replace a directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


def test_stale_temporary_files_of_dead_processes_only_are_removed(tmp_path: Path) -> None:
    dead = dead_pid()
    stale = [f".a.{dead}.0123abcd.tmp", f".b.{dead}.89abcdef.tmp", ".c.0.0123abcd.tmp"]  # pid 0 never wrote one
    live = [f".d.{os.getpid()}.0123abcd.tmp", ".e.1.0123abcd.tmp", f".f.{dead}.0123abcd.tmpx", "g.txt"]
    for name in stale + live:
        (tmp_path / name).write_text("x")
    assert safefs.clean_stale_temps(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(live)
    assert safefs.clean_stale_temps(tmp_path / "missing") == 0


def test_a_process_we_may_not_signal_counts_as_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, sig: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "kill", refused)
    (tmp_path / ".a.4242.0123abcd.tmp").write_text("x")
    assert safefs.clean_stale_temps(tmp_path) == 0 and (tmp_path / ".a.4242.0123abcd.tmp").exists()


# --- sealed ---------------------------------------------------------------------------------------------

def test_publishing_an_empty_file_twice_is_harmless(tmp_path: Path) -> None:
    sealed = SealedFile(tmp_path, "run-00001")
    sealed.close()
    assert sealed.publish() is None and not sealed.part.exists()
    assert sealed.publish() is None


def test_a_linked_part_is_set_aside_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "victim").write_text('{"a": 1}\n')
    part = tmp_path / "run-00001.part"
    part.symlink_to(tmp_path / "victim")
    with pytest.raises(BadPart) as bad:
        recover_part(part)
    assert (bad.value.errno, bad.value.strerror, bad.value.filename) == (errno.ELOOP, "a symbolic link, not followed",
                                                                         str(part))
    assert isinstance(bad.value, OSError)


def test_a_part_being_written_is_refused_with_its_name(tmp_path: Path) -> None:
    sealed = SealedFile(tmp_path, "run-00001")
    sealed.write({"a": 1})
    with pytest.raises(PartInUse) as in_use:
        recover_part(sealed.part)
    assert str(in_use.value) == f"{sealed.part} is being written by a live process"
    sealed.close()


def test_a_part_that_is_not_json_lines_is_set_aside_with_the_reason(tmp_path: Path) -> None:
    part = tmp_path / "run-00001.part"
    part.write_bytes(b'{"a": 1}\nnot json\n')
    with pytest.raises(BadPart) as bad:
        recover_part(part)
    assert (bad.value.errno, bad.value.filename) == (errno.EINVAL, str(part))
    assert bad.value.strerror.startswith("a line is not JSON (Expecting value")
    assert part.read_bytes() == b'{"a": 1}\nnot json\n'  # left as it was


def test_sealed_files_have_the_usual_mode(tmp_path: Path) -> None:
    sealed = SealedFile(tmp_path, "run-00001")
    sealed.write({"a": 1})
    final = sealed.seal()
    assert final is not None and (final.stat().st_mode & 0o777) == 0o644 & ~_umask()


def test_a_fifo_is_refused_as_not_a_regular_file_and_files_open_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(safefs.NotRegularFile) as refused:
        safefs.open_existing(fifo, os.O_RDONLY)  # never blocks waiting for a writer
    assert (refused.value.errno, refused.value.strerror, refused.value.filename) == (
        errno.EINVAL, "not a regular file", str(fifo))
    fd = safefs.open_existing(tmp_path / "regular", os.O_RDWR | os.O_CREAT)
    try:
        assert os.get_blocking(fd)  # O_NONBLOCK was only for the open
    finally:
        os.close(fd)
