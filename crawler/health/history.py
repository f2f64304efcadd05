"""A source's history: the run reports under ``<output>/runs/``, oldest first.

One history entry per run; in worker mode (``--redis``) the reports of one distributed round
(every worker of it that wrote into this output directory) are merged into one entry, since the
round, not one worker's share of it, is what a source published. Unfinished runs (SIGTERM,
a crash) saw only part of the sources and are left out.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from crawler.health.judge import STATUSES
from pipelines.storage.safefs import open_existing

logger = logging.getLogger(__name__)

ROUND_STAT = "autonews/distributed/round"


#: Per-source counters a run report holds (whole numbers), and its maps of counters.
_COUNTS = ("pages", "new_entries", "skipped", "written", "duplicates", "non_english", "non_english_dropped",
           "not_article")
_COUNT_MAPS = ("errors", "discovery", "fields", "languages")
_TEXTS = ("run_id", "start", "end", "finish_reason")
#: A run id starts with its UTC start time (``pipelines.storage.naming.run_id``).
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)")
#: How much earlier than a report's ``start`` its file name's time may be (both are taken as the crawl starts).
_NAME_SLACK = timedelta(hours=1)
_MAX_REPORT_BYTES = 64 << 20
"""A run report larger than this is not one autonews wrote (a few KB per source): skipped unread."""


def _count(value: Any) -> bool:
    """Whether ``value`` is a counter: a whole number, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def report_problem(report: Any) -> str | None:
    """Why a parsed run report cannot be used (None when it can): every field health and the HTML
    report read is checked for its type, so a damaged or planted report is skipped, never a crash."""
    if not isinstance(report, dict):
        return "not a JSON object"
    for key in _TEXTS:
        if key in report and not isinstance(report[key], str):
            return f"{key!r} is not a string"
    stats = report.get("stats", {})
    if not isinstance(stats, dict):
        return "'stats' is not an object"
    if ROUND_STAT in stats and not _count(stats[ROUND_STAT]):
        return f"{ROUND_STAT!r} is not a whole number"
    sources = report.get("sources")
    if not isinstance(sources, dict):
        return "'sources' is not an object"
    for name, entry in sources.items():
        if not isinstance(entry, dict):
            return f"source {name!r} is not an object"
        for key in _COUNTS:
            if key in entry and not _count(entry[key]):
                return f"source {name!r}: {key!r} is not a whole number"
        for key in _COUNT_MAPS:
            if key in entry and not (isinstance(entry[key], dict) and all(map(_count, entry[key].values()))):
                return f"source {name!r}: {key!r} is not an object of whole numbers"
        median = entry.get("text_length_median")
        if median is not None and not (isinstance(median, (int, float)) and not isinstance(median, bool)
                                       and math.isfinite(median)):
            return f"source {name!r}: 'text_length_median' is not a number"
        health = entry.get("health", {})
        if not (isinstance(health, dict) and isinstance(health.get("status", ""), str)
                and isinstance(health.get("reasons", []), list)
                and all(isinstance(r, str) for r in health.get("reasons", []))):
            return f"source {name!r}: 'health' is not a status and a list of reasons"
    return None


def _slim(report: dict[str, Any]) -> dict[str, Any]:
    """What history and the HTML report use of a report: without the crawl's stats (most of its size)
    but the distributed round."""
    slim = {key: value for key, value in report.items() if key != "stats"}
    round_ = report.get("stats", {}).get(ROUND_STAT)
    if round_ is not None:
        slim["stats"] = {ROUND_STAT: round_}
    return slim


def _maybe_since(path: Path, floor: str, since: datetime) -> bool:
    """Whether the report at ``path`` may have started at ``since`` or later, judged without reading it:
    by the time its name starts with (compared as text with ``floor``, the same format: names sort by
    time), else by its modification time (written as the run ends)."""
    match = _STAMP.match(path.name)
    if match:
        return match[1] >= floor
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) >= since - _NAME_SLACK
    except OSError:
        return False


def scan_reports(runs_dir: Path, limit: int | None = None,
                 since: datetime | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The usable run reports in ``runs_dir``, oldest first, and the names of those skipped.

    Only the newest ``limit`` files are read, and with ``since`` only those whose name (or, failing
    that, modification time) says they may have started since: the history grows by a report per
    run, and neither health nor ``autonews report`` may slow down with it. A report that cannot be
    read, is not JSON or fails :func:`report_problem` is skipped with a warning: never fatal.
    Reports are returned without the crawl's stats (:func:`_slim`).
    """
    paths = sorted(runs_dir.glob("*.json"))  # run ids start with the UTC time: name order is time order
    if since is not None:
        floor = f"{since - _NAME_SLACK:%Y%m%dT%H%M%SZ}"
        paths = [path for path in paths if _maybe_since(path, floor, since)]
    if limit is not None:
        paths = paths[-limit:] if limit > 0 else []
    reports, skipped = [], []
    for path in paths:
        try:
            fd = open_existing(path, os.O_RDONLY)  # a link or a FIFO planted in runs/ is not followed
            with open(fd, "rb") as fh:
                data = fh.read(_MAX_REPORT_BYTES + 1)
            if len(data) > _MAX_REPORT_BYTES:
                problem: str | None = "larger than any report autonews writes"
            else:
                report = json.loads(data)
                problem = report_problem(report)
        except (OSError, ValueError, RecursionError) as exc:
            problem = str(exc)
        if problem is not None:
            logger.warning("Skipping run report %s: %s", path, problem[:300])
            skipped.append(path.name)
            continue
        reports.append(_slim(report))
    reports.sort(key=lambda r: (str(r.get("start", "")), str(r.get("run_id", ""))))
    return reports, skipped


def load_reports(runs_dir: Path, limit: int | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
    """The usable run reports in ``runs_dir``, oldest first (see :func:`scan_reports`)."""
    return scan_reports(runs_dir, limit, since)[0]


def round_of(report: Mapping[str, Any]) -> int | None:
    """The distributed round a worker's report belongs to, or None for a single crawl."""
    value = (report.get("stats") or {}).get(ROUND_STAT)
    return value if _count(value) else None


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
