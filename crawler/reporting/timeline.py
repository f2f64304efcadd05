"""Per-source series for the HTML report, from run reports (pure: no plotting, no I/O but reading).

A distributed round's worker reports count as one run (``crawler.health.history``). Days are UTC
days of a run's start.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from crawler.health.history import history_runs, scan_reports
from crawler.health.judge import STATUSES
from crawler.health.signals import FIELDS


@dataclass
class RunPoint:
    """One source in one run."""

    start: str
    run_id: str
    status: str
    reasons: list[str]
    coverage: dict[str, float | None]
    written: int
    pages: int


@dataclass
class SourceTimeline:
    """Everything the report shows for one source over the period."""

    name: str
    runs: list[RunPoint] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    written: Counter[str] = field(default_factory=Counter)  # day -> articles written
    pages: Counter[str] = field(default_factory=Counter)  # day -> new article pages fetched
    duplicates: Counter[str] = field(default_factory=Counter)
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # class -> day -> n
    languages: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # language -> day -> n

    @property
    def status(self) -> str:
        """The status of the latest run."""
        return self.runs[-1].status if self.runs else "new"

    @property
    def reasons(self) -> list[str]:
        """The reasons of the latest run."""
        return self.runs[-1].reasons if self.runs else []

    @property
    def last_written(self) -> str | None:
        """Start of the latest run that wrote an article of this source."""
        return next((r.start for r in reversed(self.runs) if r.written), None)

    def total(self, series: str) -> int:
        """Sum over the period of ``written``, ``pages`` or ``duplicates``."""
        return sum(getattr(self, series).values())

    def error_total(self) -> int:
        """Errors of every class over the period."""
        return sum(sum(days.values()) for days in self.errors.values())


def _coverage(entry: Mapping[str, Any]) -> dict[str, float | None]:
    """Share of written records with each field (None when the run wrote nothing)."""
    written = int(entry.get("written", 0))
    fields = entry.get("fields") if isinstance(entry.get("fields"), Mapping) else None
    if not written or fields is None:
        return {f: None for f in FIELDS}
    return {f: int(fields.get(f, 0)) / written for f in FIELDS}


def build_timelines(runs_dir: Path, days: int, now: datetime | None = None) -> tuple[list[SourceTimeline], int, int]:
    """Return the sources' timelines over the last ``days`` days, worst status first, the number of runs and
    the number of run reports skipped as unusable.

    Only the reports of the period are read (chosen by file name before parsing), so the time and
    memory a report takes follow ``days``, not the length of the whole history.
    """
    moment = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    since = moment.isoformat(timespec="seconds")
    loaded, skipped = scan_reports(runs_dir, since=moment)
    reports = [r for r in loaded if str(r.get("start", "")) >= since]
    runs = history_runs(reports, finished_only=False)
    timelines: dict[str, SourceTimeline] = {}
    for run in runs:
        start = str(run.get("start", ""))
        day = start[:10]
        for name, entry in run["sources"].items():
            tl = timelines.setdefault(name, SourceTimeline(name))
            health = entry.get("health") if isinstance(entry.get("health"), Mapping) else {}
            tl.runs.append(RunPoint(start=start, run_id=str(run.get("run_id", "")),
                                    status=str(health.get("status", "new")), reasons=list(health.get("reasons", [])),
                                    coverage=_coverage(entry), written=int(entry.get("written", 0)),
                                    pages=int(entry.get("pages", 0))))
            if day not in tl.days:
                tl.days.append(day)
            tl.written[day] += int(entry.get("written", 0))
            tl.pages[day] += int(entry.get("pages", 0))
            tl.duplicates[day] += int(entry.get("duplicates", 0))
            for label, count in (entry.get("errors") or {}).items():
                tl.errors[label][day] += int(count)
            for language, count in (entry.get("languages") or {}).items():
                tl.languages[language][day] += int(count)
    ordered = sorted(timelines.values(), key=lambda t: (STATUSES.index(t.status) if t.status in STATUSES else 9, t.name))
    return ordered, len(runs), len(skipped)
