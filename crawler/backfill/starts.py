"""When a backfill's reader threads open their first remote WARC file: jittered once per run, not per file.

Jitter is there for the archive host: workers that cron starts in the same minute (one machine or many)
should not all open their files at the same moment. One random delay of up to ``AUTONEWS_BACKFILL_JITTER``
seconds before the run's first remote open does that; the run's other readers follow within
:data:`STAGGER` seconds (two connections never open at once), and a reader's later files open as soon as
it is free, since the files' different lengths already spread those. Drawing a new delay before every
file, as the first version did, left a reader idle for up to the whole jitter at each file and stretched a
two-file month's scan by 1-3 s (0.41x the bare scan's records/s with the then default of 3 s).
"""
from __future__ import annotations

import random

STAGGER = 0.2
"""Up to this many seconds (random) between the run's first open and another reader's first open (was 0.5 s:
the other reader's wait is scan time lost, ~0.25 s of a 2 s window on average; 0.2 s still keeps the opens apart)."""


class StartSchedule:
    """The delays of one run's readers before their first remote file (drawn once, when the run starts)."""

    def __init__(self, jitter: float, readers: int, rng: random.Random | None = None) -> None:
        rng = rng or random.Random()
        jitter = max(0.0, jitter)
        first = rng.uniform(0, jitter) if jitter else 0.0
        stagger = min(jitter, STAGGER)
        self.delays = [first + (rng.uniform(0, stagger) if n and stagger else 0.0) for n in range(max(1, readers))]
        """Seconds reader ``n`` waits before its first remote open."""

    def delay(self, reader: int, first_file: bool) -> float:
        """Seconds reader ``reader`` waits before opening a remote file (0 for every file after its first)."""
        return self.delays[reader] if first_file and 0 <= reader < len(self.delays) else 0.0
