"""An exclusive, non-blocking run lock next to the state file.

``flock`` is released by the kernel when the process dies, so a crash or a
``kill -9`` never leaves a stale lock behind.

The lock file is created 0600 and opened without following a symbolic link: a link planted at
``<state>.lock`` would otherwise have the crawl truncate and write its pid into the link's target.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path


class LockedError(RuntimeError):
    """Another crawl holds the lock."""


class UnsafeLockError(OSError):
    """The lock path is a symbolic link or not a regular file; nothing was opened through it."""


class RunLock:
    """Hold ``<state>.lock`` for the lifetime of a crawl."""

    def __init__(self, state_path: str | Path) -> None:
        self.path = Path(f"{state_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        """Take the lock or raise :class:`LockedError` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockedError(f"another autonews crawl (pid {holder}) is using {self.path.with_suffix('')}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def _open(self) -> int:
        """Open (creating 0600) the lock file itself, never what a symlink at its path points to."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            # Linux says ELOOP for O_NOFOLLOW on a symlink, the BSDs EMLINK.
            if exc.errno in (errno.ELOOP, errno.EMLINK) and self.path.is_symlink():
                raise UnsafeLockError(
                    f"the run lock {self.path} is a symbolic link; refusing to follow it "
                    "(remove it if no other program owns it)") from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise UnsafeLockError(f"the run lock {self.path} is not a regular file")
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            os.fchmod(fd, 0o600)  # a lock file left by an older version (0644)
        return fd

    def release(self) -> None:
        """Release the lock (also done by the kernel at exit)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
