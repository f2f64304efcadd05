"""Turn crawl stats into a human summary and a cron-grade exit status.

``scrapy crawl`` exits 0 even when nothing could be fetched; cron needs to know. The run
report extension puts the sources' health into the stats (``autonews/health/*``); a crawl that
finished with a degraded or broken source exits with ``AUTONEWS_HEALTH_EXIT_STATUS`` (4).
"""

from __future__ import annotations

import logging
import signal
from typing import Any, Mapping

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_HEALTH, EXIT_OK, EXIT_OUTPUT
from crawler.health.causes import describe

#: Set when SIGTERM/SIGINT stopped the run (``crawler.cli.runner.SignalAwareProcess``): its signal number.
STOP_SIGNAL = "autonews/stop_signal"

logger = logging.getLogger(__name__)

#: "article pages fetched" counts article pages only, as the run report's ``pages`` and the HTML report do
#: (feeds, sitemaps, section pages and robots.txt are not articles; they are ``discovery pages fetched``).
SUMMARY_KEYS = (
    ("article pages fetched", "autonews/pages/article"),
    ("articles written", "autonews/written"),
    ("not articles", "autonews/not_article"),
    ("duplicates skipped before download", "autonews/skipped/seen_url"),
    ("duplicates dropped", "autonews/dropped/duplicates"),
    ("non-English", "autonews/non_english"),
    ("discovery pages fetched", "autonews/discovery/ok"),
    ("errors", "autonews/errors/total"),
)
BACKFILL_KEYS = (
    ("WARC files done", "autonews/backfill/files_done"),
    ("records scanned", "autonews/backfill/records_scanned"),
    ("records kept", "autonews/backfill/records_kept"),
)
"""Added to the summary of ``autonews backfill``."""


def failure_reasons(stats: Mapping[str, Any]) -> list[str]:
    """Return why a crawl counts as failed (empty when it succeeded)."""
    reasons = []
    reason = stats.get("finish_reason", "finished")
    if reason not in ("finished", "shutdown"):
        reasons.append(f"finish reason: {reason}")
    if stats.get("autonews/errors/storage"):
        reasons.append("output not writable")
    discovery = stats.get("autonews/discovery/requested", 0)
    if discovery and not stats.get("autonews/discovery/ok", 0):
        reasons.append("no source reachable")
    failed_files = stats.get("autonews/backfill/files_failed", 0)
    if failed_files:
        reasons.append(f"{failed_files} WARC file(s) not read to the end")
    spider_errors = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    if spider_errors:
        reasons.append(f"{spider_errors} spider error(s)")
    return reasons


def stopped_by(stats: Mapping[str, Any]) -> str | None:
    """The name of the signal that stopped the run (``SIGTERM``, ``SIGINT``), or None."""
    value = stats.get(STOP_SIGNAL)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        return signal.Signals(value).name
    except ValueError:
        return f"signal {value}"


def unhealthy(stats: Mapping[str, Any]) -> bool:
    """Whether the run report judged some source degraded or broken."""
    return bool(stats.get("autonews/health/degraded") or stats.get("autonews/health/broken"))


def exit_status(stats: Mapping[str, Any], health_exit: int = EXIT_HEALTH) -> int:
    """Return the process exit status for a finished crawl.

    ``health_exit`` is returned when the crawl itself succeeded but a source is degraded or
    broken (``AUTONEWS_HEALTH_EXIT_STATUS``; 0 turns it off).
    """
    if stats.get("autonews/errors/storage"):
        return EXIT_OUTPUT
    if stopped_by(stats):  # SIGTERM/SIGINT: what systemd and timeout expect (143, 130); sources not judged
        return 128 + int(stats[STOP_SIGNAL])
    if failure_reasons(stats):
        return EXIT_FAILED
    return health_exit if unhealthy(stats) else EXIT_OK


def errors_by_class(stats: Mapping[str, Any]) -> str:
    """The run's errors by class, most frequent first: ``http_404 ×3, dns_failed ×1`` ("" when none)."""
    errors = {k[len("autonews/errors/"):]: v for k, v in stats.items()
              if k.startswith("autonews/errors/") and k != "autonews/errors/total" and isinstance(v, int)}
    return describe(errors)


def format_summary(stats: Mapping[str, Any]) -> str:
    """Return a short multi-line summary for stderr."""
    keys = (*BACKFILL_KEYS, *SUMMARY_KEYS) if "autonews/backfill/files_total" in stats else SUMMARY_KEYS
    lines = [f"{label}: {stats.get(key, 0)}" for label, key in keys]
    by_class = errors_by_class(stats)
    if by_class:
        lines[-1] += f" ({by_class})"
    reasons = failure_reasons(stats)
    stopped = stopped_by(stats)
    if stopped:  # what a partial run did not reach is no failure (exit 128 + the signal)
        status = f"STOPPED by {stopped} (files sealed; sources not judged; the next run goes on from here)"
    elif reasons:
        status = "FAILED (" + "; ".join(reasons) + ")"
    elif unhealthy(stats):
        status = "SOURCES NEED ATTENTION (" + str(stats.get("autonews/health/unhealthy", "")) + ")"
    else:
        status = "ok"
    lines.append("status: " + status)
    return "autonews: " + ", ".join(lines[:-1]) + "\nautonews: " + lines[-1]


class RunStatus:
    """Extension that logs the summary when the spider closes (also under ``scrapy crawl``)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RunStatus":
        """Build the extension and connect it to ``spider_closed``."""
        return cls(crawler)

    def spider_closed(self, reason: str) -> None:
        """Fold duplicate counters and log the summary."""
        stats = self.crawler.stats
        dup = sum(v for k, v in stats.get_stats().items()
                  if k.startswith("autonews/dropped/") and "duplicate" in k)
        stats.set_value("autonews/dropped/duplicates", dup)
        logger.info(format_summary({**stats.get_stats(), "finish_reason": reason}))
