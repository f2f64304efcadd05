"""The consumer's untrusted-file handling, in-process: file kinds, bounded reads, the lock file, the cursor.

``tests/test_consumer*.py`` drive most of this through ``autonews read`` in a subprocess, which
issue 25's mutation run cannot see (README "Mutation testing"). Here each rule is checked where it
lives: what :func:`read_regular` refuses and says, what a lock file must be and what a busy reader is
told, which cursor files are used, what a saved cursor holds, and which temporary cursor files of
killed saves are removed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import pipelines.consumer.lock as lock_module
from pipelines.consumer.cursor import (Cursor, CursorError, CursorFileError, clean_cursor_temps, cursor_path,
                                       load_cursor, save_cursor)
from pipelines.consumer.files import FileRefused, WrongSize, kind, read_regular
from pipelines.consumer.lock import ConsumerBusy, ConsumerLock, LockFileError

DEAD_PID = 4_194_305  # above Linux's largest pid_max (2**22): no process has it


# --- file kinds and bounded reads ------------------------------------------------------------------------------


def test_every_kind_of_file_is_named(tmp_path: Path) -> None:
    regular = tmp_path / "f"
    regular.write_bytes(b"x")
    link = tmp_path / "l"
    link.symlink_to(regular)
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    try:
        assert kind(os.lstat(tmp_path).st_mode) == "a directory"
        assert kind(os.lstat(fifo).st_mode) == "a FIFO"
        assert kind(os.lstat(link).st_mode) == "a symbolic link"
        assert kind(os.lstat(tmp_path / "s").st_mode) == "a socket"
    finally:
        sock.close()
    assert kind(os.stat("/dev/null").st_mode) == "a device"
    assert kind(stat.S_IFBLK | 0o600) == "a device"
    assert kind(os.lstat(regular).st_mode) == "a regular file"
    assert kind(0) == "not a regular file"


def test_read_regular_reads_up_to_its_bound_and_says_why_it_refuses(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"12345")
    assert read_regular(path, 5) == b"12345" and read_regular(path, 9) == b"12345"
    assert read_regular(path, 5, exact=True) == b"12345"
    with pytest.raises(WrongSize) as wrong:
        read_regular(path, 6, exact=True)
    assert str(wrong.value) == "is 5 bytes, not 6"
    with pytest.raises(FileRefused) as large:
        read_regular(path, 4)
    assert str(large.value) == "is 5 bytes, more than the 4 allowed" and not isinstance(large.value, WrongSize)
    with pytest.raises(FileRefused) as directory:
        read_regular(tmp_path, 10)
    assert str(directory.value) == "is a directory, not a regular file"
    (tmp_path / "link").symlink_to(path)
    with pytest.raises(FileRefused) as link:
        read_regular(tmp_path / "link", 10)
    assert str(link.value) == "is a symbolic link, not a regular file"
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", 10)


def test_a_name_swapped_for_a_link_after_the_look_is_refused_as_a_link(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.consumer.files as files

    regular = tmp_path / "regular"
    regular.write_bytes(b"{}\n")
    name = tmp_path / "swapped"
    name.symlink_to(regular)
    real = os.lstat
    monkeypatch.setattr(files.os, "lstat", lambda path: real(regular) if Path(path) == name else real(path))
    with pytest.raises(FileRefused) as caught:
        read_regular(name, 3)
    assert str(caught.value) == "is a symbolic link, not a regular file"


def test_a_file_larger_than_a_read_chunk_is_read_whole_and_exactly(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    data = bytes(range(256)) * 6000  # 1.5 MB: two reads
    path.write_bytes(data)
    assert read_regular(path, len(data), exact=True) == data
    assert read_regular(path, len(data) + 10) == data


def test_a_name_swapped_for_another_regular_file_after_the_look_is_refused(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.consumer.files as files

    looked_at = tmp_path / "looked-at"
    looked_at.write_bytes(b"{}\n")
    name = tmp_path / "swapped"
    name.write_bytes(b"{}\n")  # same size, another file: what the lstat saw is not what was opened
    real = os.lstat
    monkeypatch.setattr(files.os, "lstat", lambda path: real(looked_at) if Path(path) == name else real(path))
    with pytest.raises(FileRefused) as caught:
        read_regular(name, 3)
    assert str(caught.value) == "was replaced while being opened"


@pytest.mark.parametrize("bound", [10, (1 << 20) + 500])
def test_a_file_that_grows_after_the_look_is_refused_having_read_one_byte_more_at_most(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound: int) -> None:
    import pipelines.consumer.files as files

    path = tmp_path / "growing.jsonl"
    path.write_bytes(b"x" * bound)
    real_lstat, real_read = os.lstat, os.read
    read: list[int] = []

    def look_then_grow(name: object) -> os.stat_result:
        info = real_lstat(name)
        if Path(str(name)) == path:
            with open(path, "ab") as fh:  # a writer appends right after the look
                fh.write(b"y" * (3 << 20))
        return info

    def counting_read(fd: int, n: int) -> bytes:
        chunk = real_read(fd, n)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(files.os, "lstat", look_then_grow)
    monkeypatch.setattr(files.os, "read", counting_read)
    for exact in (False, True):
        path.write_bytes(b"x" * bound)
        read.clear()
        with pytest.raises(FileRefused) as caught:
            read_regular(path, bound, exact=exact)
        assert str(caught.value) == f"grew past the {bound} bytes allowed while being read"
        assert sum(read) == bound + 1  # the bound, and one byte to tell it grew: never the gigabytes after


def test_a_file_that_grows_while_being_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.consumer.files as files

    path = tmp_path / "growing.jsonl"
    path.write_bytes(b"x" * 10)
    real_read = os.read
    appended: list[int] = []

    def read_then_grow(fd: int, n: int) -> bytes:
        chunk = real_read(fd, n)
        if len(appended) < 3:  # a writer appends after the first reads (all 10 bytes came, then more), then stops
            appended.append(1)
            with open(path, "ab") as fh:
                fh.write(b"y")
        return chunk

    monkeypatch.setattr(files.os, "read", read_then_grow)
    with pytest.raises(FileRefused) as caught:
        read_regular(path, 10, exact=True)
    assert str(caught.value) == "grew past the 10 bytes allowed while being read"


def test_a_file_that_shrinks_after_the_look_is_the_wrong_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.consumer.files as files

    path = tmp_path / "shrinking.jsonl"
    path.write_bytes(b"12345")
    real = os.lstat

    def look_then_truncate(name: object) -> os.stat_result:
        info = real(name)
        if Path(str(name)) == path:
            os.truncate(path, 3)
        return info

    monkeypatch.setattr(files.os, "lstat", look_then_truncate)
    with pytest.raises(WrongSize) as caught:
        read_regular(path, 5, exact=True)
    assert str(caught.value) == "is 3 bytes, not 5"


# --- the lock file ----------------------------------------------------------------------------------------------


def test_the_lock_is_held_between_acquire_and_release_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "c.lock"
    path.write_bytes(b"a much longer previous holder's text\n")
    holder = ConsumerLock(path, "consumer c")
    assert not holder.held
    holder.acquire()
    assert holder.held and path.read_bytes() == str(os.getpid()).encode()
    other = ConsumerLock(path, "consumer c")
    with pytest.raises(ConsumerBusy) as busy:
        other.acquire()
    assert str(busy.value) == (f"consumer c is being read by another process (pid {os.getpid()}); one reader per "
                               "consumer name at a time: try again when it has finished")
    assert not other.held
    holder.release()
    assert not holder.held
    holder.release()  # a second release is a no-op
    other.acquire()
    assert other.held
    other.release()


def test_a_new_lock_file_is_private(tmp_path: Path) -> None:
    lock = ConsumerLock(tmp_path / "c.lock", "consumer c")
    lock.acquire()
    try:
        assert stat.S_IMODE(os.lstat(tmp_path / "c.lock").st_mode) == 0o600
    finally:
        lock.release()


@pytest.mark.parametrize(("content", "shown"), [
    (b"", "?"), (b"  \n", "?"), (b"\xff\xfe12", "\ufffd\ufffd12"), (b"9" * 40, "9" * 32)])
def test_a_busy_reader_shows_at_most_32_characters_of_the_lock_file(tmp_path: Path, content: bytes, shown: str) -> None:
    path = tmp_path / "c.lock"
    holder = ConsumerLock(path, "consumer c")
    holder.acquire()
    try:
        with open(path, "r+b") as fh:  # another program's idea of what a lock file holds
            fh.truncate(0)
            fh.write(content)
        with pytest.raises(ConsumerBusy) as busy:
            ConsumerLock(path, "consumer c").acquire()
        assert f"(pid {shown});" in str(busy.value)
    finally:
        holder.release()


def test_a_lock_file_that_is_not_a_private_regular_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    cases = {"link.lock": "a symbolic link (Too many levels of symbolic links)", "dir.lock": "a directory (Is a directory)"}
    (tmp_path / "link.lock").symlink_to(victim)
    (tmp_path / "dir.lock").mkdir()
    os.mkfifo(tmp_path / "fifo.lock")
    os.link(victim, tmp_path / "hard.lock")
    for name, what in cases.items():
        with pytest.raises(LockFileError) as caught:
            ConsumerLock(tmp_path / name, "consumer c").acquire()
        assert str(caught.value) == f"the lock file {tmp_path / name} is {what}: remove it if no other program owns it"
    for name, what in {"fifo.lock": "a FIFO", "hard.lock": "a file with several names"}.items():
        lock = ConsumerLock(tmp_path / name, "consumer c")
        with pytest.raises(LockFileError) as caught:
            lock.acquire()
        assert str(caught.value) == f"the lock file {tmp_path / name} is {what}: remove it if no other program owns it"
        assert not lock.held
    assert victim.read_bytes() == b"keep"


def test_a_lock_file_that_vanishes_between_the_two_opens_is_created_again(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = lock_module.create_new
    calls: list[Path] = []

    def racing(path: Path, mode: int) -> int:
        calls.append(Path(path))
        if len(calls) == 1:  # someone else's file was there, and is gone by the time it is opened
            raise FileExistsError(errno.EEXIST, "File exists")
        return real(path, mode)

    monkeypatch.setattr(lock_module, "create_new", racing)
    lock = ConsumerLock(tmp_path / "c.lock", "consumer c")
    lock.acquire()
    try:
        assert lock.held and len(calls) == 2
    finally:
        lock.release()


def test_a_lock_name_that_fails_to_open_then_vanishes_is_still_a_lock_file_error(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.lock"
    real_open = os.open

    def taken(name: Path, mode: int) -> int:
        raise FileExistsError(errno.EEXIST, "File exists")

    def refused(name: object, flags: int, *args: object) -> int:
        if Path(str(name)) == path:  # another program's file, unreadable to us, removed right after
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(name, flags, *args)

    monkeypatch.setattr(lock_module, "create_new", taken)
    monkeypatch.setattr(lock_module.os, "open", refused)
    with pytest.raises(LockFileError) as caught:
        ConsumerLock(path, "consumer c").acquire()
    assert str(caught.value) == (f"the lock file {path} is not a regular file (Permission denied): "
                                 "remove it if no other program owns it")


def test_a_lock_file_that_keeps_vanishing_is_given_up_after_three_tries(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def always_taken(path: Path, mode: int) -> int:
        calls.append(Path(path))
        raise FileExistsError(errno.EEXIST, "File exists")

    monkeypatch.setattr(lock_module, "create_new", always_taken)
    with pytest.raises(LockFileError) as caught:
        ConsumerLock(tmp_path / "c.lock", "consumer c").acquire()
    assert str(caught.value) == f"the lock file {tmp_path / 'c.lock'} keeps disappearing"
    assert len(calls) == 3


# --- the cursor file -----------------------------------------------------------------------------------------------


def test_a_saved_cursor_holds_both_positions_and_when_it_was_written(tmp_path: Path) -> None:
    root = tmp_path / "new" / "output"  # saving creates what is missing
    save_cursor(root, "c", Cursor(3, 5))
    assert load_cursor(root, "c") == Cursor(3, 5)
    body = json.loads(cursor_path(root, "c").read_text(encoding="utf-8"))
    assert set(body) == {"consumer", "committed", "pending", "updated_at"}
    assert (body["consumer"], body["committed"], body["pending"]) == ("c", 3, 5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body["updated_at"]), body["updated_at"]
    written = datetime.fromisoformat(body["updated_at"])
    assert abs(datetime.now(timezone.utc) - written) < timedelta(minutes=5)


@pytest.mark.parametrize(("body", "cursor"), [
    ({"committed": 0, "pending": 0}, Cursor(0, 0)), ({"committed": 4, "pending": 9}, Cursor(4, 9)),
    ({"committed": 5, "pending": 2}, Cursor(5, 5)),  # pending behind committed means nothing pending
])
def test_valid_cursors_are_read(tmp_path: Path, body: dict, cursor: Cursor) -> None:
    (tmp_path / "consumers").mkdir()
    cursor_path(tmp_path, "c").write_text(json.dumps(body), encoding="utf-8")
    assert load_cursor(tmp_path, "c") == cursor


@pytest.mark.parametrize("body", [
    [1, 2], "3", {"committed": -1, "pending": 0}, {"committed": 0, "pending": -2}, {"committed": "5", "pending": 5},
    {"committed": True, "pending": 1}, {"committed": 1.0, "pending": 1}, {"pending": 1}, {"committed": 1}])
def test_a_cursor_of_the_wrong_shape_is_not_used(tmp_path: Path, body: object) -> None:
    (tmp_path / "consumers").mkdir()
    path = cursor_path(tmp_path, "c")
    path.write_text(json.dumps(body), encoding="utf-8")
    with pytest.raises(CursorFileError) as caught:
        load_cursor(tmp_path, "c")
    assert str(caught.value) == f"{path}: not a cursor (committed and pending must be non-negative integers)"


def test_a_cursor_that_is_not_json_says_why(tmp_path: Path) -> None:
    (tmp_path / "consumers").mkdir()
    path = cursor_path(tmp_path, "c")
    path.write_bytes(b"{committed: 1")
    with pytest.raises(CursorFileError) as caught:
        load_cursor(tmp_path, "c")
    try:
        json.loads(b"{committed: 1")
    except ValueError as exc:
        reason = str(exc)
    assert str(caught.value) == f"{path}: not a cursor ({reason})"


def test_a_cursor_that_is_not_a_regular_file_or_cannot_be_read_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "consumers").mkdir()
    path = cursor_path(tmp_path, "c")
    path.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(CursorFileError) as link:
        load_cursor(tmp_path, "c")
    assert str(link.value) == (f"{path} is a symbolic link, not a regular file: not used (remove it to start this "
                               "consumer over from the beginning)")
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "consumers").write_text("not a directory", encoding="utf-8")
    with pytest.raises(CursorFileError) as unreadable:
        load_cursor(flat, "c")
    assert str(unreadable.value) == f"{cursor_path(flat, 'c')}: cannot read it (Not a directory)"
    assert load_cursor(tmp_path / "nothing-yet", "c") == Cursor()  # a consumer never seen starts at the beginning
    with pytest.raises(CursorError):
        load_cursor(tmp_path, "../c")


@pytest.mark.parametrize("name", [".", "..", "", "a/b", "x" * 129, "na\u00efve", 7])
def test_consumer_names_are_plain_and_refused_with_the_rule(tmp_path: Path, name: object) -> None:
    with pytest.raises(CursorError) as caught:
        cursor_path(tmp_path, name)  # type: ignore[arg-type]
    assert str(caught.value) == f"invalid consumer name {name!r}: use 1-128 of A-Z a-z 0-9 . _ -"
    assert cursor_path(tmp_path, ".a") == tmp_path / "consumers" / ".a.json"


def test_a_consumers_directory_leading_out_of_the_output_is_refused(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "consumers").symlink_to(elsewhere)
    with pytest.raises(CursorError) as caught:
        save_cursor(out, "c", Cursor(1, 1))
    assert str(caught.value) == f"{out / 'consumers'} leads outside the output directory"
    assert list(elsewhere.iterdir()) == []


def test_temporary_cursors_of_killed_saves_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    save_cursor(tmp_path, "c", Cursor(1, 1))
    consumers = tmp_path / "consumers"
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    dead = [f".c.json.{DEAD_PID}.tmp", f".other.json.{DEAD_PID}.tmp",  # the old naming (before safefs)
            f".c.json.{DEAD_PID}.0123abcd.tmp"]  # safefs's naming
    live = [f".c.json.{os.getpid()}.tmp", f".c.json.{os.getpid()}.0123abcd.tmp"]
    unrelated = ["c.lock", "notes.txt", f"c.json.{DEAD_PID}.tmp", f".c.json.{DEAD_PID}.tmp.bak"]
    for name in dead + live + unrelated:
        (consumers / name).write_bytes(b"{}")
    (consumers / f".linked.json.{DEAD_PID}.tmp").symlink_to(victim)  # removed as a link
    assert clean_cursor_temps(tmp_path) == 4
    assert sorted(p.name for p in consumers.iterdir()) == sorted(["c.json", *live, *unrelated])
    assert victim.read_bytes() == b"keep" and load_cursor(tmp_path, "c") == Cursor(1, 1)
    assert clean_cursor_temps(tmp_path) == 0
    assert clean_cursor_temps(tmp_path / "nothing-yet") == 0
