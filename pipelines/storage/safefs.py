"""Files created in a directory someone else may write to, without following a planted link.

The output directory is untrusted (README, Security): anyone who can write there can plant a
symlink named like a file autonews is about to create (``report.html.tmp`` -> a victim file).
Every file autonews creates there goes through this module: it is created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` (an existing name, link or not, is an error, never a target)
and, when it replaces another file, written under a fresh temporary name in the same directory
and renamed into place (``rename`` replaces a link itself, never what it points to).

Temporary names carry the writer's pid (``.NAME.PID.TOKEN.tmp``) so that :func:`clean_stale_temps`
can remove those of dead processes (a killed save) and leave a live writer's alone.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from pathlib import Path

NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
"""Create a new file only: fails on any existing name, a symlink included."""

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d{1,10})\.[0-9a-f]{8}\.tmp$")


def create_new(path: str | os.PathLike[str], mode: int = 0o644) -> int:
    """Create ``path`` as a new regular file and return a write-only descriptor.

    Raises ``FileExistsError`` when anything (a file, a directory, a link) already has that name.
    """
    return os.open(path, NEW_FILE_FLAGS, mode)


class NotRegularFile(OSError):
    """A name autonews opens in the output directory is a symbolic link or not a regular file."""


def open_existing(path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """Open ``path`` with ``flags`` (``O_CREAT`` allowed) without following a link; a regular file only.

    For the files autonews appends to or recovers in place (the manifest, a ``.part`` left by a
    killed run): a link planted at the name raises :class:`NotRegularFile` (nothing is opened
    through it), and so does a FIFO or a device (``O_NONBLOCK`` keeps a FIFO from blocking the open).
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        # Linux says ELOOP for O_NOFOLLOW on a symlink, the BSDs EMLINK.
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise NotRegularFile(exc.errno, "a symbolic link, not followed", str(path)) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
    os.set_blocking(fd, True)
    return fd


def temp_path(target: Path) -> Path:
    """A fresh temporary name beside ``target``, tagged with this process' pid."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_temp(target: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644,
               durable: bool = True) -> Path:
    """Write ``data`` (str as UTF-8) to a new temporary file beside ``target``; return its path.

    The caller renames it into place (``os.replace``) when it is ready to (after a state commit,
    say), or unlinks it; a crash in between leaves a temporary name :func:`clean_stale_temps`
    removes. Never written through a link; fsynced when ``durable``.
    """
    target = Path(target)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = temp_path(target)
    fd = create_new(tmp, mode)
    try:
        with open(fd, "wb", closefd=True) as fh:
            fh.write(payload)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def atomic_write(target: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644,
                 durable: bool = True) -> None:
    """Replace ``target`` with ``data`` (str is encoded as UTF-8) all at once.

    Written to a new temporary file in the same directory (never through a link), fsynced when
    ``durable``, then renamed over ``target``; a failure removes the temporary file. A reader
    sees the old content or the new, never a part.
    """
    target = Path(target)
    tmp = write_temp(target, data, mode=mode, durable=durable)
    try:
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        _fsync_dir(target.parent)


def _unlink_quietly(path: Path) -> None:
    """Remove a temporary file of ours, if it is still there."""
    try:
        os.unlink(path)
    except OSError:
        pass


def touch_probe(directory: Path, stem: str) -> None:
    """Create and remove a uniquely named empty file: proves ``directory`` is writable.

    Never opens an existing name, so a link planted at a predictable probe name truncates nothing.
    """
    probe = temp_path(directory / stem)
    os.close(create_new(probe, 0o600))
    os.unlink(probe)


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(directory: Path) -> int:
    """Remove temporary files left in ``directory`` by processes that no longer run.

    Only names of :func:`temp_path`'s shape are touched, and a link is removed as a link (its
    target is never opened). Returns how many were removed.
    """
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        match = _TEMP.match(name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        try:
            os.unlink(directory / name)
            removed += 1
        except OSError:
            pass
    return removed


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (best effort on filesystems that refuse it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
