"""Run report: ``<output>/runs/<run-id>.json`` with totals and per-source health.

Per-source counts come from Scrapy's item signals, so every pipeline keeps one
concern: whatever drops an item says why in its ``DropItem`` message, and the
report files it under a reason. A source that fetched new article pages but got
not one article out of them is reported as *degraded*: a site's layout change
breaks extraction silently, and this is where an operator sees it.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.extensions.runstatus import exit_status, failure_reasons
from pipelines.storage.pipeline import crawl_run_id

logger = logging.getLogger(__name__)

#: DropItem message prefixes and the report bucket they count in.
DROP_REASONS = (
    ("not an article", "not_article"),
    ("duplicate_url", "duplicates"),
    ("duplicate_text", "duplicates"),
    ("near_duplicate", "duplicates"),
    ("non-English", "non_english_dropped"),
)
#: New article pages a source must have fetched before zero yield counts as degraded.
DEGRADED_MIN_PAGES = 3


def drop_reason(message: str) -> str:
    """Return the report bucket for a DropItem message."""
    for prefix, bucket in DROP_REASONS:
        if message.startswith(prefix):
            return bucket
    return "dropped_other"


def source_health(counts: Counter[str], errors: dict[str, int]) -> dict[str, Any]:
    """Return one source's report entry from its counters."""
    entry: dict[str, Any] = {key: counts.get(key, 0) for key in
                             ("pages", "skipped", "written", "duplicates", "non_english", "not_article")}
    entry["errors"] = dict(sorted(errors.items()))
    yielded = entry["written"] + entry["duplicates"] + counts.get("non_english_dropped", 0)
    entry["degraded"] = entry["pages"] >= DEGRADED_MIN_PAGES and yielded == 0
    return entry


class RunReport:
    """Extension that counts items per source and writes the run report when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.output = Path(crawler.settings.get("AUTONEWS_OUTPUT_DIR") or "output")
        self.started = datetime.now(timezone.utc)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
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
        counts = self.counts[item.get("source") or "unknown"]
        counts["written"] += 1
        if "non_english" in (item.get("flags") or []):
            counts["non_english"] += 1

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        """Count a dropped page or article under its reason."""
        self.counts[ItemAdapter(item).get("source") or "unknown"][drop_reason(str(exception))] += 1

    def build(self, reason: str) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        names = set(self.counts) | {k.split("/")[2] for k in stats if k.startswith("autonews/source/")}
        sources = {}
        for name in sorted(names):
            prefix = f"autonews/source/{name}/"
            counts = Counter(self.counts.get(name, {}))
            counts["pages"] = stats.get(prefix + "pages", 0)
            counts["skipped"] = stats.get(prefix + "skipped", 0)
            errors = {k[len(prefix + "errors/"):]: v for k, v in stats.items() if k.startswith(prefix + "errors/")}
            sources[name] = source_health(counts, errors)
        return {
            "run_id": crawl_run_id(self.crawler),
            "start": self.started.isoformat(timespec="seconds"),
            "end": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finish_reason": reason,
            "exit_status": exit_status(stats),
            "failure_reasons": failure_reasons(stats),
            "degraded_sources": [n for n, s in sources.items() if s["degraded"]],
            "sources": sources,
            "stats": {k: v.isoformat() if isinstance(v, datetime) else v for k, v in sorted(stats.items())},
        }

    def spider_closed(self, reason: str) -> None:
        """Write the report atomically; a failure to write it is logged, never fatal."""
        report = self.build(reason)
        for name in report["degraded_sources"]:
            logger.error("Source %s is degraded: %d new page(s), no article extracted",
                         name, report["sources"][name]["pages"])
        target = self.output / "runs" / f"{report['run_id']}.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            logger.error("Could not write the run report %s: %s", target, exc)
            return
        self.crawler.stats.set_value("autonews/report", str(target))
