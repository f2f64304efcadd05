"""The thresholds run health is judged with: defaults here, ``AUTONEWS_HEALTH_*`` settings override them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_RUNS = 5  # earlier runs of a source before its history is trusted (before that: "new")
WINDOW = 10  # trailing runs whose median is "usual"
MIN_SAMPLE = 3  # new pages / written records a run needs before its shares and text length count
SHARE_CHANGE = 0.3  # a share (article yield, field coverage, non-English, discovery) moving this far is degraded
TEXT_RATIO = 0.5  # median text length under this fraction of usual is degraded ("half the text")
ENTRIES_RATIO = 0.5  # entries found in feeds/sitemaps/section pages under this fraction of usual is degraded
STALE_RUNS = 3  # runs in a row without a new entry (degraded; twice as many: broken)


@dataclass(frozen=True)
class Thresholds:
    """Every knob of the judge, with the documented defaults."""

    min_runs: int = MIN_RUNS
    window: int = WINDOW
    min_sample: int = MIN_SAMPLE
    share_change: float = SHARE_CHANGE
    text_ratio: float = TEXT_RATIO
    entries_ratio: float = ENTRIES_RATIO
    stale_runs: int = STALE_RUNS

    @classmethod
    def from_settings(cls, settings: Any) -> "Thresholds":
        """Read the ``AUTONEWS_HEALTH_*`` settings (a Scrapy ``Settings``); missing ones keep the defaults."""
        return cls(
            min_runs=settings.getint("AUTONEWS_HEALTH_MIN_RUNS", MIN_RUNS),
            window=max(1, settings.getint("AUTONEWS_HEALTH_WINDOW", WINDOW)),
            min_sample=max(1, settings.getint("AUTONEWS_HEALTH_MIN_SAMPLE", MIN_SAMPLE)),
            share_change=settings.getfloat("AUTONEWS_HEALTH_SHARE_CHANGE", SHARE_CHANGE),
            text_ratio=settings.getfloat("AUTONEWS_HEALTH_TEXT_RATIO", TEXT_RATIO),
            entries_ratio=settings.getfloat("AUTONEWS_HEALTH_ENTRIES_RATIO", ENTRIES_RATIO),
            stale_runs=max(1, settings.getint("AUTONEWS_HEALTH_STALE_RUNS", STALE_RUNS)),
        )
