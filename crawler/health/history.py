"""A source's history: the run reports under ``<output>/runs/``, oldest first.

One history entry per run; in worker mode (``--redis``) the reports of one distributed round
(every worker of it that wrote into this output directory) are merged into one entry, since the
round, not one worker's share of it, is what a source published. Unfinished runs (SIGTERM,
a crash) saw only part of the sources and are left out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Mapping

from crawler.health.judge import STATUSES

logger = logging.getLogger(__name__)

ROUND_STAT = "autonews/distributed/round"


def load_reports(runs_dir: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The readable run reports in ``runs_dir``, oldest first (at most the newest ``limit`` files).

    A report that cannot be read is skipped with a warning: history is advisory, never fatal.
    """
    paths = sorted(runs_dir.glob("*.json"))  # run ids start with the UTC time: name order is time order
    if limit is not None:
        paths = paths[-limit:]
    reports = []
    for path in paths:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("Skipping unreadable run report %s: %s", path, exc)
            continue
        if isinstance(report, dict) and isinstance(report.get("sources"), dict):
            reports.append(report)
    reports.sort(key=lambda r: (str(r.get("start", "")), str(r.get("run_id", ""))))
    return reports


def round_of(report: Mapping[str, Any]) -> int | None:
    """The distributed round a worker's report belongs to, or None for a single crawl."""
    value = (report.get("stats") or {}).get(ROUND_STAT)
    return int(value) if isinstance(value, (int, float)) else None


def _add(total: dict[str, Any], entry: Mapping[str, Any]) -> None:
    """Add one worker's source entry into a round's (counts summed, dicts by key)."""
    for key, value in entry.items():
        if isinstance(value, bool) or key in ("health", "signals", "text_length_median"):
            continue
        if isinstance(value, (int, float)):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, Mapping) and all(isinstance(v, (int, float)) for v in value.values()):
            inner = total.setdefault(key, {})
            for k, v in value.items():
                inner[k] = inner.get(k, 0) + v


def merge_round(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One report for a round from its workers' reports.

    Counts are summed; the median text length of the round is approximated by the medians of the
    workers weighted by their written records (the records themselves are not in the reports).
    """
    first = reports[0]
    merged: dict[str, Any] = {"run_id": first.get("run_id"), "start": first.get("start"),
                              "end": max(str(r.get("end", "")) for r in reports),
                              "finish_reason": first.get("finish_reason"), "round": round_of(first),
                              "workers": len(reports), "sources": {}}
    for name in sorted({n for r in reports for n in r["sources"]}):
        entries = [r["sources"][name] for r in reports if name in r["sources"]]
        total: dict[str, Any] = {}
        for entry in entries:
            _add(total, entry)
        # the round's health: the worst a worker saw, with every reason given
        healths = [e["health"] for e in entries if isinstance(e.get("health"), Mapping)]
        if healths:
            worst = min((h.get("status", "ok") for h in healths),
                        key=lambda s: STATUSES.index(s) if s in STATUSES else len(STATUSES))
            reasons = list(dict.fromkeys(r for h in healths for r in h.get("reasons", [])))
            total["health"] = {"status": worst, "reasons": reasons}
        weighted = [(e["text_length_median"], e.get("written", 0)) for e in entries
                    if e.get("text_length_median") is not None and e.get("written", 0)]
        if weighted:
            total["text_length_median"] = sum(m * w for m, w in weighted) / sum(w for _, w in weighted)
        merged["sources"][name] = total
    return merged


def history_runs(reports: Iterable[Mapping[str, Any]], exclude_round: int | None = None,
                 finished_only: bool = True) -> list[dict[str, Any]]:
    """The history, oldest first: finished runs (all runs with ``finished_only=False``), one entry
    per distributed round (``exclude_round``, the round still running, is left out: its reports
    are not the past)."""
    runs: list[dict[str, Any]] = []
    rounds: dict[int, list[Mapping[str, Any]]] = {}
    order: list[tuple[str, Any]] = []
    for report in reports:
        if finished_only and report.get("finish_reason") != "finished":
            continue
        if "backfill" in report:  # a backfill's counts are history's, not a run's: never a source's usual
            continue
        current = round_of(report)
        if current is None:
            order.append(("run", dict(report)))
        elif current != exclude_round:
            if current not in rounds:
                order.append(("round", current))
            rounds.setdefault(current, []).append(report)
    for kind, value in order:
        runs.append(value if kind == "run" else merge_round(rounds[value]))
    return runs


def source_entries(runs: Iterable[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    """The report entries of source ``name`` in ``runs`` (runs that did not crawl it skipped)."""
    return [run["sources"][name] for run in runs if name in run.get("sources", {})]
