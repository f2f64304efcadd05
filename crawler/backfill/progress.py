"""Each WARC file's progress, kept in the dedupe state so that a backfill resumes and writes once.

Per file the state holds ``{"status": "done" | "partial", "offset": N, ...counts}``. A ``done``
file is never fetched again; a ``partial`` one is read again from ``offset``, the start of its
first record not yet through the pipelines (an HTTP Range request for a remote file).

Why it cannot lose or repeat an article: progress is saved only when the storage pipeline reports a
commit (:data:`pipelines.storage.signals.state_committed`): at that moment every line written so
far is fsynced and its article recorded as seen, and the saved offset is at or before the first
record whose article might not be (``FileScan.safe_offset``: records handed to the pipelines and
not yet through them hold it back). A kill after that re-reads from the offset: what was written
since is a duplicate for the dedupe state (or recovered from the ``.part`` file and then one), and
nothing before it is skipped unwritten. The spider asks for a commit (``commit_requested``) when a
file ends and every ``AUTONEWS_BACKFILL_COMMIT_SECONDS``, so a long stretch without articles
advances the offset too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.backfill.files import WarcFile
from crawler.backfill.records import FileScan
from pipelines.state.store import DedupeStore

logger = logging.getLogger(__name__)

DONE = "done"
PARTIAL = "partial"
COMMIT_SECONDS = 10.0
"""Seconds between progress commits while files are read (``AUTONEWS_BACKFILL_COMMIT_SECONDS``)."""


@dataclass
class FileRun:
    """One file being read in this run: its scan and what came of its records."""

    wfile: WarcFile
    scan: FileScan
    size: int | None = None
    articles: int = 0
    duplicates: int = 0
    dropped: int = 0
    errors: int = 0
    counted: set[str] = field(default_factory=set)

    def done(self) -> bool:
        """Read to the end and every kept record through the pipelines."""
        return self.scan.finished and self.scan.failed is None and self.scan.in_flight() == 0

    def report(self) -> dict[str, Any]:
        """The file's line in the run report."""
        scan = self.scan
        return {"file": self.wfile.name, "status": DONE if self.done() else PARTIAL,
                "scanned": scan.scanned, "kept": scan.kept, "articles": self.articles,
                "duplicates": self.duplicates, "dropped": self.dropped,
                "errors": self.errors + scan.corrupt + scan.too_large + (1 if scan.failed else 0),
                "corrupt": scan.corrupt, "too_large": scan.too_large, "failed": scan.failed,
                "resumed_at": scan.start, "bytes": max(0, scan.frontier - scan.start) if not self.done()
                else max(0, (self.size or scan.frontier) - scan.start)}


REEXTRACT_PREFIX = "reextract:"
"""Progress of ``--reextract`` passes is kept apart, under this prefix: reading a file for history and
re-extracting it are different jobs."""


class ProgressBook:
    """The files of this run and their saved progress; lives in the reactor thread.

    ``reextract``: a pass of ``--reextract``. Its progress has its own keys, and a file a finished pass
    read is read again by the next one (a newer extraction is why it runs); only an interrupted pass
    resumes where it stopped.
    """

    def __init__(self, store_of: Callable[[], DedupeStore], reextract: bool = False) -> None:
        self.store_of = store_of
        self.prefix = REEXTRACT_PREFIX if reextract else ""
        self.active: dict[str, FileRun] = {}
        self.finished: list[FileRun] = []
        self._handed = 0
        self.saved: dict[str, dict[str, Any]] = {}

    def load(self) -> dict[str, dict[str, Any]]:
        """What the state says about every file (read once, at the start)."""
        self.saved = self.store_of().load_progress()
        return self.saved

    def is_done(self, name: str) -> bool:
        """Whether an earlier run (or another worker) finished this file (never, for a re-extraction)."""
        return not self.prefix and (self.saved.get(name) or {}).get("status") == DONE

    def resume_offset(self, name: str) -> int:
        """Where to start reading ``name``: 0, or the offset an interrupted run saved."""
        saved = self.saved.get(self.prefix + name) or {}
        if saved.get("status") != PARTIAL:
            return 0
        offset = saved.get("offset", 0)
        return offset if isinstance(offset, int) and offset >= 0 else 0

    def begin(self, run: FileRun) -> None:
        """A file starts being read."""
        self.active[run.wfile.name] = run

    def committed(self) -> None:
        """Save every active file's progress behind the commit that just happened, then commit it too.

        Called on :data:`pipelines.storage.signals.state_committed`, synchronously after the state's
        commit, so nothing was written in between (module docstring).
        """
        if not self.active:
            return
        store = self.store_of()
        for name, run in list(self.active.items()):
            done = run.done()
            progress = {"status": DONE if done else PARTIAL, "offset": run.scan.safe_offset(),
                        "scanned": run.scan.scanned, "kept": run.scan.kept, "articles": run.articles}
            if done:
                progress["offset"] = max(progress["offset"], run.scan.frontier)
            store.save_progress(self.prefix + name, progress)
            self.saved[self.prefix + name] = progress
            if done or run.scan.failed is not None and run.scan.in_flight() == 0:
                del self.active[name]
                self.finished.append(run)
        store.commit()

    def take_finished(self) -> list[FileRun]:
        """The files finished since the last call (each is handed out once)."""
        new = self.finished[self._handed:]
        self._handed = len(self.finished)
        return new

    def all_runs(self) -> list[FileRun]:
        """Every file of this run, finished first."""
        return [*self.finished, *self.active.values()]
