"""Reading a file the output directory names, without trusting it: a regular file of bounded size, never blocking.

The output directory is untrusted (README, Security): a manifest line or a cursor may name a
directory, a FIFO (whose ``open`` for reading blocks until a writer comes), a device, a symbolic
link, or a sparse file of gigabytes. :func:`read_regular` looks before it opens (``lstat``: kind
and size), opens with ``O_NOFOLLOW | O_NONBLOCK`` (no link followed, no FIFO waited for), checks
the descriptor again (``fstat``: the same regular file, the name may have been swapped in between)
and reads at most the size it allowed, so nothing larger than the caller's bound is ever read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


class FileRefused(ValueError):
    """The name is not a regular file, or is larger than allowed; nothing was read from it."""


class WrongSize(FileRefused):
    """The file is not of the exact size the caller expected (a manifest line's ``bytes``)."""


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words (for error messages)."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: Path, max_bytes: int, *, exact: bool = False) -> bytes:
    """The content of the regular file ``path``, at most ``max_bytes`` long (exactly, with ``exact``).

    Raises FileRefused (before opening) for a link, a directory, a FIFO, a device, or a file
    larger than ``max_bytes`` (WrongSize when ``exact`` and the size differs); FileNotFoundError
    and other OSErrors pass through.
    """
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"is {kind(info.st_mode)}, not a regular file")
    if exact and info.st_size != max_bytes:
        raise WrongSize(f"is {info.st_size} bytes, not {max_bytes}")
    if info.st_size > max_bytes:
        raise FileRefused(f"is {info.st_size} bytes, more than the {max_bytes} allowed")
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        # swapped for a link since the lstat: Linux says ELOOP for O_NOFOLLOW on a symlink, the BSDs EMLINK
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise FileRefused("is a symbolic link, not a regular file") from None
        raise
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            raise FileRefused("was replaced while being opened")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # one byte more than allowed tells a file that grew since the lstat
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:
        raise FileRefused(f"grew past the {max_bytes} bytes allowed while being read")
    if exact and size != max_bytes:
        raise WrongSize(f"is {size} bytes, not {max_bytes}")
    return b"".join(chunks)
