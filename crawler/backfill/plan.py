"""Which file a reader thread reads next, and from where: a run's own list, or a shared Redis queue."""

from __future__ import annotations

import threading
from typing import Protocol

from crawler.backfill.files import WarcFile
from crawler.backfill.progress import ProgressBook


class FilePlan(Protocol):
    """Hands out files to the reader threads (called from them: thread-safe)."""

    total: int
    """Files of the backfill (done ones included)."""
    skipped_done: int
    """Files an earlier run (or another worker) had finished: not fetched again."""

    def take(self) -> tuple[WarcFile, int, int | None] | None:
        """The next file, the offset to resume it at and its size if known; None when there is none left."""

    def finish(self, wfile: WarcFile, done: bool) -> None:
        """A file's progress is saved (``done``: read to the end and every article through)."""


class LocalPlan:
    """The files named on the command line, minus those the state says are done, in order."""

    def __init__(self, files: list[WarcFile], book: ProgressBook) -> None:
        """``book`` has loaded the state's progress."""
        self.total = len(files)
        self._todo = [(f, book.resume_offset(f.name)) for f in files if not book.is_done(f.name)]
        self.skipped_done = self.total - len(self._todo)
        self._lock = threading.Lock()

    def take(self) -> tuple[WarcFile, int, int | None] | None:
        """The next file not done, with its saved offset."""
        with self._lock:
            if not self._todo:
                return None
            wfile, offset = self._todo.pop(0)
        return wfile, offset, None

    def finish(self, wfile: WarcFile, done: bool) -> None:
        """Nothing to release: a single run owns its files (the run lock)."""
