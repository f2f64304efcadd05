"""Append-only JSON Lines files that readers only ever see complete.

Lines go to ``NAME.part``; sealing flushes, fsyncs and renames it to
``NAME.jsonl`` (an atomic rename on POSIX), so a reader that globs ``*.jsonl``
never meets a half-written line.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from pipelines.storage.safefs import NotRegularFile, create_new, open_existing


SEAL_EVERY_ITEMS = 500
"""A file is sealed (published as ``.jsonl``) once it holds this many articles..."""
SEAL_EVERY_SECONDS = 300.0
"""...or has been open this long, so readers never wait long for what was crawled."""
COMMIT_EVERY = 25
"""Articles between state commits, each behind fsynced lines (fewer fsyncs; a kill costs a re-fetch of at most these)."""

def fsync_dir(path: Path) -> None:
    """Make a rename or create inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SealedFile:
    """One ``.part`` file that becomes ``.jsonl`` when sealed."""

    def __init__(self, directory: Path, stem: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.part = directory / f"{stem}.part"
        self.final = directory / f"{stem}.jsonl"
        # A new name (the run id is unique): O_EXCL|O_NOFOLLOW, so a link planted at it is never written through.
        self._fh = open(create_new(self.part), "wb")
        # Held while writing: recovery leaves a .part alone while its writer lives (other workers).
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.lines = 0
        self.opened = time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line (flushed to the OS, not yet fsynced)."""
        self.write_line(json.dumps(record, ensure_ascii=False, separators=(",", ":")))

    def write_line(self, line: str) -> None:
        """Append one JSON text (without newline) as one line (flushed to the OS, not yet fsynced).

        Encoded before anything is written, so a line that cannot be encoded leaves the file as it was.
        """
        data = (line + "\n").encode("utf-8")
        self._fh.write(data)
        self._fh.flush()
        self.lines += 1

    def sync(self) -> None:
        """fsync what was written so far."""
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """fsync and close, leaving the ``.part`` in place (see :meth:`publish`)."""
        self.sync()
        self._fh.close()

    def publish(self) -> Path | None:
        """Rename the closed ``.part`` to ``.jsonl``; an empty file is removed instead."""
        if not self.lines:
            self.part.unlink(missing_ok=True)
            return None
        os.replace(self.part, self.final)
        fsync_dir(self.final.parent)
        return self.final

    def seal(self) -> Path | None:
        """Close and publish in one step (when no state must be committed in between)."""
        self.close()
        return self.publish()


class PartInUse(RuntimeError):
    """The ``.part`` file belongs to a writer that is still running."""


class BadPart(OSError):
    """A ``.part`` name holds a symbolic link or something else than a regular file: set aside."""


def recover_part(path: Path) -> tuple[Path | None, list[dict[str, Any]]]:
    """Seal a killed run's ``.part`` file, cutting a torn last line.

    Truncating in place and renaming are both idempotent, so a crash during
    recovery is recovered by the next run. Returns the sealed path (None when
    nothing was complete) and its records, so the caller can record them as
    seen before anything new is written.
    """
    try:
        fd = open_existing(path, os.O_RDWR)  # a link planted as a .part is refused, never read or cut
    except NotRegularFile as exc:
        raise BadPart(exc.errno, exc.strerror, str(path)) from None
    with open(fd, "r+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PartInUse(f"{path} is being written by a live process") from None
        data = fh.read()
        keep = data.rfind(b"\n") + 1  # 0 when there is no complete line
        try:
            records = [json.loads(line) for line in data[:keep].splitlines() if line.strip()]
        except ValueError as exc:  # not written by autonews: set aside rather than published
            raise BadPart(errno.EINVAL, f"a line is not JSON ({exc})", str(path)) from None
        if keep < len(data):
            fh.truncate(keep)
            os.fsync(fh.fileno())
    if not keep:
        path.unlink()
        return None, []
    final = path.with_suffix(".jsonl")
    os.replace(path, final)
    fsync_dir(final.parent)
    return final, records
