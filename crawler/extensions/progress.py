"""Progress lines on stderr during long runs (``--progress``, or when stderr is a terminal).

``autonews crawl``: article pages fetched (as in the summary line and the run report), articles written, requests queued, the rate over the last
interval and errors, every ``AUTONEWS_PROGRESS_INTERVAL`` seconds and once at the end.
``autonews scrape`` over many targets: done/total with an ETA (``AUTONEWS_PROGRESS_TOTAL``).
``autonews backfill``: WARC files done/total, records scanned/kept, MB/s and an ETA.
Printed, not logged: the console log stays at ERROR for cron, and cron (no terminal, no
``--progress``) never gets these lines.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any, Mapping

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

#: The stat the line and its rate count: article pages, as the summary line and the run report do.
ARTICLE_PAGES = "autonews/pages/article"


def duration(seconds: float) -> str:
    """``0:01:05`` for 65.4 seconds."""
    return str(timedelta(seconds=round(max(seconds, 0))))


def crawl_line(stats: Mapping[str, Any], queued: int | None, pages_per_min: float) -> str:
    """One progress line of a crawl."""
    queue = "?" if queued is None else str(queued)
    return (f"autonews: progress: article pages fetched: {stats.get(ARTICLE_PAGES, 0)}, "
            f"articles written: {stats.get('autonews/written', 0)}, queued: {queue}, "
            f"rate: {pages_per_min:.0f} pages/min, errors: {stats.get('autonews/errors/total', 0)}")


def scrape_line(stats: Mapping[str, Any], total: int, elapsed: float) -> str:
    """One progress line of a scrape of ``total`` targets: done/total, rate and ETA."""
    done = min(int(stats.get("autonews/targets/done", 0)), total)
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = duration((total - done) / rate) if rate and done < total else ("0:00:00" if done >= total else "?")
    return (f"autonews: progress: {done}/{total} done, {rate:.1f} pages/s, ETA {eta}, "
            f"articles: {stats.get('autonews/written', 0)}, errors: {stats.get('autonews/errors/total', 0)}")


def backfill_line(stats: Mapping[str, Any], elapsed: float) -> str:
    """One progress line of a backfill: files done/total, records scanned/kept, MB/s and ETA.

    The ETA assumes the files left are as large as those read so far.
    """
    total = int(stats.get("autonews/backfill/files_total", 0))
    done = int(stats.get("autonews/backfill/files_done", 0))
    megabytes = stats.get("autonews/backfill/bytes", 0) / 1e6
    rate = megabytes / elapsed if elapsed > 0 else 0.0
    files = stats.get("autonews/backfill/files") or []
    read = sum(1 for f in files if f.get("status") == "done") or 0
    per_file = megabytes / read if read else None
    left = total - done
    eta = "0:00:00" if not left else duration(left * per_file / rate) if per_file and rate else "?"
    return (f"autonews: progress: files {done}/{total}, records scanned: "
            f"{stats.get('autonews/backfill/records_scanned', 0)}, kept: {stats.get('autonews/backfill/records_kept', 0)}, "
            f"{rate:.1f} MB/s, ETA {eta}, articles written: {stats.get('autonews/written', 0)}, "
            f"errors: {stats.get('autonews/errors/total', 0)}")


class Progress:
    """Extension printing progress lines to stderr; NotConfigured unless ``AUTONEWS_PROGRESS``."""

    def __init__(self, crawler: Crawler, interval: float, total: int) -> None:
        self.crawler = crawler
        self.interval = interval
        self.total = total
        self.started = time.monotonic()
        self.last = (self.started, 0)  # (time, pages) at the previous line, for the recent rate
        self.task: Any = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Progress":
        """Build the extension when ``AUTONEWS_PROGRESS`` is on (the CLI sets it for a terminal or ``--progress``)."""
        settings = crawler.settings
        if not settings.getbool("AUTONEWS_PROGRESS", False):
            raise NotConfigured  # no message: switched off on purpose (AUTONEWS_PROGRESS is off), not worth a WARNING
        return cls(crawler, max(settings.getfloat("AUTONEWS_PROGRESS_INTERVAL", 5.0), 0.1),
                   settings.getint("AUTONEWS_PROGRESS_TOTAL", 0))

    def spider_opened(self) -> None:
        """Start the periodic line."""
        self.started = time.monotonic()
        self.last = (self.started, 0)
        self.task = create_looping_call(self.tick)
        self.task.start(self.interval, now=False)

    def queued(self) -> int | None:
        """Requests waiting in the scheduler plus those being downloaded (None if unknown)."""
        engine = self.crawler.engine
        try:
            return len(engine.scheduler) + len(engine.downloader.active)  # type: ignore[arg-type, union-attr]
        except (AttributeError, TypeError):  # a scheduler without a length
            return None

    def line(self) -> str:
        """The current progress line."""
        stats = self.crawler.stats.get_stats()
        now = time.monotonic()
        if "autonews/backfill/files_total" in stats:
            return backfill_line(stats, now - self.started)
        if self.total:
            return scrape_line(stats, self.total, now - self.started)
        pages = int(stats.get(ARTICLE_PAGES, 0))
        then, before = self.last
        self.last = (now, pages)
        rate = (pages - before) * 60 / (now - then) if now > then else 0.0
        return crawl_line(stats, self.queued(), rate)

    def tick(self) -> None:
        """Print one line (stderr is flushed: a terminal shows it at once)."""
        print(self.line(), file=sys.stderr, flush=True)

    def spider_closed(self) -> None:
        """Stop the periodic line and print the final one."""
        if self.task is not None and self.task.running:
            self.task.stop()
        self.tick()
