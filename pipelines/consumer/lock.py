"""One reader per consumer name at a time: an ``flock`` on ``<output>/consumers/<NAME>.lock``.

Two readers of one name would each be delivered the same records and each acknowledge for the
other (issue 21: records sealed between the two reads were committed unread). The lock is taken
without waiting: the second reader is told who holds it and stops (``autonews read`` exits 75,
EX_TEMPFAIL, as an overlapping crawl does). The kernel drops an ``flock`` when its process dies,
so a killed reader never leaves a stale lock.

The lock file sits in the untrusted output directory: it is created with ``O_EXCL | O_NOFOLLOW``
(:func:`pipelines.storage.safefs.create_new`); an existing one is opened without following a link
and without blocking on a FIFO, and used only when it is a regular file with one name (a hard link
to someone else's file is not written to).
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from pipelines.consumer.files import kind
from pipelines.storage.safefs import create_new

_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class ConsumerBusy(RuntimeError):
    """Another process is reading (or acknowledging) as this consumer right now."""


class LockFileError(OSError):
    """The lock file's name is taken by a link, a directory, a FIFO or a file with several names."""


class ConsumerLock:
    """An exclusive, non-blocking lock on one lock file; :meth:`acquire` and :meth:`release`."""

    def __init__(self, path: Path, label: str) -> None:
        """``label`` names what is locked in messages (``consumer NAME``)."""
        self.path = Path(path)
        self.label = label
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise ConsumerBusy naming the holder's pid (LockFileError for an unsafe file)."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ConsumerBusy(f"{self.label} is being read by another process (pid {holder}); "
                               "one reader per consumer name at a time: try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd

    def _open(self) -> int:
        """A descriptor of the lock file: created new, or the existing regular single-name file."""
        for _ in range(3):  # the name may come and go between the two opens; do not loop forever
            try:
                return create_new(self.path, 0o600)
            except FileExistsError:
                pass
            try:
                fd = os.open(self.path, _OPEN_FLAGS)
            except FileNotFoundError:
                continue
            except OSError as exc:
                mode = os.lstat(self.path).st_mode if os.path.lexists(self.path) else 0
                raise LockFileError(f"the lock file {self.path} is {kind(mode)} ({exc.strerror}): "
                                    "remove it if no other program owns it") from None
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                os.close(fd)
                what = kind(info.st_mode) if not stat.S_ISREG(info.st_mode) else "a file with several names"
                raise LockFileError(f"the lock file {self.path} is {what}: remove it if no other program owns it")
            os.set_blocking(fd, True)
            return fd
        raise LockFileError(f"the lock file {self.path} keeps disappearing")

    def release(self) -> None:
        """Release the lock (the kernel also does at exit). The file stays: removing it would race a new holder."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
