"""Judge one run of a source against its own history: a status and the reasons for it.

- ``broken``: the source gave nothing usable: new pages but no article from any of them, no
  discovery page (feed, sitemap, section page) fetched and parsed (the reason names the error
  classes and, where there is one, the fix: ``crawler.health.causes``), or no new entry for twice
  ``stale_runs`` runs in a row while it used to publish every run. These need no history.
- ``degraded``: most of the run's article fetches failed with an HTTP error (4xx/5xx), or a signal
  moved away from the median of the source's last runs (``window``):
  article yield, field coverage or discovery share down by ``share_change``, non-English share
  up by it, median text length or entries found under ``text_ratio`` / ``entries_ratio`` of usual,
  or ``stale_runs`` runs in a row without a new entry.
- ``new``: fewer than ``min_runs`` earlier runs, and nothing of the above that needs no history.
- ``ok``: otherwise.

A *partial* run (a distributed worker's share of a round, or an interrupted run) is judged on
its shares and medians only: counts of entries and new entries depend on how much of the
round this worker saw.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.health.causes import describe
from crawler.health.signals import FIELDS, Signals
from crawler.health.thresholds import Thresholds

#: Statuses, worst first (the order of the report's summary and the HTML table).
STATUSES = ("broken", "degraded", "new", "ok")
#: Statuses that make a run's exit status EXIT_HEALTH.
UNHEALTHY = ("broken", "degraded")
#: The status of every source in a run stopped by SIGTERM/SIGINT: a partial run says nothing of its sources.
UNJUDGED = "unjudged"


@dataclass
class Health:
    """A source's status in one run and why."""

    status: str
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The run report's ``sources.<name>.health``."""
        return {"status": self.status, "reasons": list(self.reasons)}


def pct(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value:.0%}"


def chars(value: float) -> str:
    """A character count with thousands separators."""
    return f"{value:,.0f}"


def _trend(label: str, history: Sequence[Signals], get: Callable[[Signals], float | None], current: float,
           fmt: Callable[[float], str], min_runs: int) -> tuple[float, str] | None:
    """``(median, reason)`` for a signal measured in at least ``min_runs`` of ``history``, else None."""
    values = [v for v in (get(s) for s in history) if v is not None]
    if len(values) < min_runs:
        return None
    median = statistics.median(values)
    return median, f"{label} {fmt(values[-1])} → {fmt(current)} (median of last {len(values)} runs: {fmt(median)})"


def _stale(current: Signals, history: Sequence[Signals], t: Thresholds) -> tuple[str, str] | None:
    """``(status, reason)`` when the source brought no new entry for ``stale_runs`` runs or more
    although it had new entries in every one of the (up to ``window``) runs before that."""
    if current.new_entries != 0 or len(history) < t.min_runs:
        return None
    counts = [s.new_entries for s in history] + [0]
    streak = 0
    while streak < len(counts) and counts[-1 - streak] == 0:
        streak += 1
    before = counts[:len(counts) - streak][-t.window:]
    if streak < t.stale_runs or len(before) < t.stale_runs or not all(before):  # None or 0: not every run
        return None
    status = "broken" if streak >= 2 * t.stale_runs else "degraded"
    return status, f"no new entry for {streak} runs in a row (new entries in each of the {len(before)} runs before)"


def fetch_failure(current: Signals, t: Thresholds) -> str | None:
    """The reason when most of a run's article fetches of a source failed with an HTTP error (4xx/5xx):
    ``article fetches failed: http_404 ×9 of 10``; None otherwise or on fewer than ``min_sample`` fetches."""
    http = {label: n for label, n in current.fetch_failed.items() if label.startswith("http_")}
    attempts = current.pages + sum(current.fetch_failed.values())
    if attempts < t.min_sample or 2 * sum(http.values()) <= attempts:
        return None
    return f"article fetches failed: {describe(http)} of {attempts}"


def judge(current: Signals, history: Sequence[Signals], t: Thresholds, partial: bool = False) -> Health:
    """Return the health of one run (``current``) of a source, given its earlier runs, oldest first."""
    broken: list[str] = []
    degraded: list[str] = []
    if current.pages >= t.min_sample and current.articles == 0:
        causes = describe({"not_article": current.not_articles}) if current.not_articles else ""
        broken.append(f"no article from {current.pages} new article pages" + (f" ({causes})" if causes else ""))
    if current.discovery_pages and current.discovery_ok == 0:
        causes = describe(current.discovery_errors, current.discovery_hosts)
        broken.append(f"no feed, sitemap or section page fetched ({current.discovery_pages} tried"
                      + (f": {causes})" if causes else ")"))
    failed = fetch_failure(current, t)
    if failed:
        degraded.append(failed)
    recent = list(history[-t.window:])

    def falls(label: str, get: Callable[[Signals], float | None], fmt: Callable[[float], str],
              too_low: Callable[[float, float], bool]) -> None:
        value = get(current)
        if value is None:
            return
        found = _trend(label, recent, get, value, fmt, t.min_runs)
        if found is not None and too_low(value, found[0]):
            degraded.append(found[1])

    def drop(cur: float, med: float) -> bool:
        return cur <= med - t.share_change

    if not broken:  # a source with no article at all has no yield or coverage to compare
        falls("article yield", lambda s: s.article_yield, pct, drop)
        for name in FIELDS:
            falls(f"{name} coverage", lambda s, n=name: s.coverage.get(n), pct, drop)
        falls("median text length", lambda s: s.text_length, chars, lambda cur, med: cur < med * t.text_ratio)
        falls("non-English share", lambda s: s.non_english, pct, lambda cur, med: cur >= med + t.share_change)
        falls("discovery pages fetched and parsed", lambda s: s.discovery_ok, pct, drop)
        if degraded and degraded[-1].startswith("discovery pages") and current.discovery_errors:
            degraded[-1] += f"; failed: {describe(current.discovery_errors, current.discovery_hosts)}"
    if not partial:
        if not broken:
            falls("entries found", lambda s: None if s.entries is None else float(s.entries), chars,
                  lambda cur, med: cur < med * t.entries_ratio)
        stale = _stale(current, history, t)
        if stale is not None:
            (broken if stale[0] == "broken" else degraded).append(stale[1])
    if broken:
        return Health("broken", broken + degraded)
    if degraded:
        return Health("degraded", degraded)
    return Health("new" if len(history) < t.min_runs else "ok")


def summary(statuses: dict[str, str]) -> dict[str, Any]:
    """The run report's top-level ``health``: the worst status and the sources by status."""
    by_status = {s: sorted(n for n, v in statuses.items() if v == s) for s in STATUSES}
    worst = next((s for s in UNHEALTHY if by_status[s]), "ok")
    return {"status": worst, **by_status}
