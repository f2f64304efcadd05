"""Run report: ``<output>/runs/<run-id>.json`` with totals and per-source health.

Per-source counts come from Scrapy's item signals, so every pipeline keeps one
concern: whatever drops an item says why in its ``DropItem`` message, and the
report files it under a reason. Each source's run is then judged against its own
history (the earlier reports beside it, ``crawler.health``): a site's layout change
breaks extraction silently, and this is where an operator sees it. Degraded and
broken sources are logged at ERROR, one line each, so they reach cron mail.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.cli.exitcodes import EXIT_HEALTH
from crawler.extensions.runstatus import exit_status, failure_reasons
from crawler.health.history import history_runs, scan_reports, source_entries
from crawler.health.judge import UNHEALTHY, judge, summary
from crawler.health.signals import FIELDS, signals_of
from crawler.health.thresholds import Thresholds
from pipelines.storage.pipeline import crawl_run_id
from pipelines.storage.safefs import atomic_write, clean_stale_temps

logger = logging.getLogger(__name__)

#: DropItem message prefixes and the report bucket they count in.
DROP_REASONS = (
    ("not an article", "not_article"),
    ("duplicate_url", "duplicates"),
    ("duplicate_text", "duplicates"),
    ("near_duplicate", "duplicates"),
    ("non-English", "non_english_dropped"),
)
#: Run reports read as history: enough for the window and for a feed dead for long to stay flagged.
HISTORY_REPORTS_PER_WINDOW = 10


def drop_reason(message: str) -> str:
    """Return the report bucket for a DropItem message."""
    for prefix, bucket in DROP_REASONS:
        if message.startswith(prefix):
            return bucket
    return "dropped_other"


def source_entry(counts: Counter[str], errors: dict[str, int]) -> dict[str, Any]:
    """Return one source's report entry from its counters (health is added by the caller)."""
    entry: dict[str, Any] = {key: counts.get(key, 0) for key in
                             ("pages", "new_entries", "skipped", "written", "duplicates", "non_english",
                              "non_english_dropped", "not_article")}
    entry["errors"] = dict(sorted(errors.items()))
    # What discovery left out on purpose (README "Security"): over the source's cap, on another
    # host than the source's, not http(s).
    entry["discovery"] = {key: counts.get(f"discovery_{key}", 0) for key in
                          ("ok", "failed", "entries", "skipped_cap", "skipped_off_domain", "skipped_not_http")}
    entry["fields"] = {name: counts.get(f"field_{name}", 0) for name in FIELDS}
    return entry


def has_value(value: Any) -> bool:
    """Whether a record field counts as present (not null, not empty)."""
    return value not in (None, "", [], {})


class RunReport:
    """Extension that counts items per source and writes the run report when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.output = Path(crawler.settings.get("AUTONEWS_OUTPUT_DIR") or "output")
        self.started = datetime.now(timezone.utc)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.text_lengths: dict[str, list[int]] = defaultdict(list)
        self.languages: dict[str, Counter[str]] = defaultdict(Counter)
        self.thresholds = Thresholds.from_settings(crawler.settings)
        self.health_exit = crawler.settings.getint("AUTONEWS_HEALTH_EXIT_STATUS", EXIT_HEALTH)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RunReport":
        """Build the extension; NotConfigured when ``AUTONEWS_RUN_REPORT`` is off (one-off scrapes)."""
        if not crawler.settings.getbool("AUTONEWS_RUN_REPORT", True):
            raise NotConfigured("AUTONEWS_RUN_REPORT is off")
        return cls(crawler)

    def item_scraped(self, item: dict[str, Any]) -> None:
        """Count a written article (its public record) for its source."""
        source = item.get("source") or "unknown"
        counts = self.counts[source]
        counts["written"] += 1
        if "non_english" in (item.get("flags") or []):
            counts["non_english"] += 1
        for name in FIELDS:  # field coverage, a health signal: a layout change loses dates or bylines first
            counts[f"field_{name}"] += has_value(item.get(name))
        self.text_lengths[source].append(len(item.get("text") or ""))
        self.languages[source][item.get("language") or "unknown"] += 1

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        """Count a dropped page or article under its reason."""
        self.counts[ItemAdapter(item).get("source") or "unknown"][drop_reason(str(exception))] += 1

    def entries(self, stats: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Every source's report entry (without health), from the item counters and the crawl stats."""
        names = set(self.counts) | {k.split("/")[2] for k in stats if k.startswith("autonews/source/")}
        sources = {}
        for name in sorted(names):
            prefix = f"autonews/source/{name}/"
            counts = Counter(self.counts.get(name, {}))
            for key, stat in (("pages", "pages"), ("skipped", "skipped"), ("new_entries", "new"),
                              ("discovery_ok", "discovery/ok"), ("discovery_failed", "discovery/failed"),
                              ("discovery_entries", "entries"), ("discovery_skipped_cap", "skipped_cap"),
                              ("discovery_skipped_off_domain", "skipped_off_domain"),
                              ("discovery_skipped_not_http", "skipped_not_http")):
                counts[key] = stats.get(prefix + stat, 0)
            errors = {k[len(prefix + "errors/"):]: v for k, v in stats.items() if k.startswith(prefix + "errors/")}
            entry = source_entry(counts, errors)
            lengths = self.text_lengths.get(name)
            entry["text_length_median"] = statistics.median(lengths) if lengths else None
            entry["languages"] = dict(sorted(self.languages.get(name, Counter()).items()))
            sources[name] = entry
        return sources

    def judge_sources(self, sources: dict[str, dict[str, Any]], stats: dict[str, Any], reason: str) -> None:
        """Add ``signals`` and ``health`` to every source entry, judged against the earlier run reports."""
        current_round = stats.get("autonews/distributed/round")
        limit = self.thresholds.window * HISTORY_REPORTS_PER_WINDOW
        reports, skipped = scan_reports(self.output / "runs", limit=limit)  # the newest only, however long the history
        if skipped:  # unusable reports are left out of the history (each logged), never a crash
            self.crawler.stats.set_value("autonews/errors/run_report", len(skipped))
            self.crawler.stats.inc_value("autonews/errors/total", len(skipped))
            stats["autonews/errors/run_report"] = len(skipped)
            stats["autonews/errors/total"] = stats.get("autonews/errors/total", 0) + len(skipped)
        runs = history_runs(reports, exclude_round=current_round)
        # A worker sees only its share of a round, an interrupted run only part of it: no count-based rules.
        partial = current_round is not None or reason != "finished"
        t = self.thresholds
        for name, entry in sources.items():
            current = signals_of(entry, t.min_sample)
            history = [signals_of(e, t.min_sample) for e in source_entries(runs, name)]
            health = judge(current, history, t, partial=partial)
            entry["signals"] = current.as_dict()
            entry["health"] = health.as_dict()
            entry["degraded"] = health.status in UNHEALTHY  # kept from before run health: needs attention

    def build(self, reason: str) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        sources = self.entries(stats)
        self.judge_sources(sources, stats, reason)
        health = summary({name: entry["health"]["status"] for name, entry in sources.items()})
        # The exit status and the summary line read the health from the stats (crawler.extensions.runstatus).
        unhealthy = [f"{n} {entry['health']['status']}" for n, entry in sources.items()
                     if entry["health"]["status"] in UNHEALTHY]
        for key, value in (("autonews/health/degraded", len(health["degraded"])),
                           ("autonews/health/broken", len(health["broken"]))):
            self.crawler.stats.set_value(key, value)
            stats[key] = value
        if unhealthy:
            self.crawler.stats.set_value("autonews/health/unhealthy", ", ".join(unhealthy))
            stats["autonews/health/unhealthy"] = ", ".join(unhealthy)
        return {
            "run_id": crawl_run_id(self.crawler),
            "start": self.started.isoformat(timespec="seconds"),
            "end": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finish_reason": reason,
            "exit_status": exit_status(stats, self.health_exit),
            "failure_reasons": failure_reasons(stats),
            "health": health,
            "degraded_sources": [n for n, s in sources.items() if s["degraded"]],
            "sources": sources,
            "stats": {k: v.isoformat() if isinstance(v, datetime) else v for k, v in sorted(stats.items())},
        }

    def spider_closed(self, reason: str) -> None:
        """Write the report atomically; a failure to write it is logged, never fatal."""
        report = self.build(reason)
        for name in report["degraded_sources"]:
            health = report["sources"][name]["health"]
            logger.error("Source %s is %s: %s", name, health["status"], "; ".join(health["reasons"]))
        target = self.output / "runs" / f"{report['run_id']}.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            clean_stale_temps(target.parent)  # those of killed earlier runs
            # a fresh temporary name, renamed into place: never written through a link planted in runs/
            atomic_write(target, json.dumps(report, indent=2, default=str))
        except OSError as exc:
            logger.error("Could not write the run report %s: %s", target, exc)
            return
        self.crawler.stats.set_value("autonews/report", str(target))
