"""Append-only JSON Lines files that readers only ever see complete.

Lines go to ``NAME.part``; sealing flushes, fsyncs and renames it to
``NAME.jsonl`` (an atomic rename on POSIX), so a reader that globs ``*.jsonl``
never meets a half-written line.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any


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
        self._fh = open(self.part, "ab")
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


def recover_part(path: Path) -> tuple[Path | None, list[dict[str, Any]]]:
    """Seal a killed run's ``.part`` file, cutting a torn last line.

    Truncating in place and renaming are both idempotent, so a crash during
    recovery is recovered by the next run. Returns the sealed path (None when
    nothing was complete) and its records, so the caller can record them as
    seen before anything new is written.
    """
    with open(path, "rb") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PartInUse(f"{path} is being written by a live process") from None
        data = probe.read()
    keep = data.rfind(b"\n") + 1  # 0 when there is no complete line
    if keep < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(keep)
            os.fsync(fh.fileno())
    if not keep:
        path.unlink()
        return None, []
    records = [json.loads(line) for line in data[:keep].splitlines() if line.strip()]
    final = path.with_suffix(".jsonl")
    os.replace(path, final)
    fsync_dir(final.parent)
    return final, records
