"""Worker-mode extension: heartbeat and lease refresh, the round's counters, idle exit.

Stats: ``autonews/distributed/{round,round_summary,redis_errors}``. scrapy-redis'
RedisStatsCollector is not used (it fails on close with current Scrapy): Scrapy keeps its own
stats and this extension adds their changes to the round's counters in Redis. Idle exit: a
worker closes once the shared queue has stayed empty for ``AUTONEWS_REDIS_IDLE_SECONDS``
(checked on Scrapy's 5 s idle tick; scrapy-redis' own MAX_IDLE_TIME_BEFORE_CLOSE counts from
import time in 0.9.1 and is not used).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from twisted.internet import task

from crawler.distributed.connection import connect, redis_keys
from crawler.distributed.lease import worker_lease
from crawler.distributed.rounds import format_round, round_report
from pipelines.state.backend import redis_options
from pipelines.state.redis_store import RedisStore

logger = logging.getLogger(__name__)


class WorkerExtension:
    """Heartbeat and lease refresh, stats push to the round's counters, idle exit."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.client = connect(settings)
        self.keys = redis_keys(settings)
        self.instance = settings.get("AUTONEWS_REDIS_INSTANCE")
        self.store = RedisStore(settings.get("AUTONEWS_REDIS_URL"), client=self.client, **redis_options(settings))
        self.idle_seconds = settings.getfloat("AUTONEWS_REDIS_IDLE_SECONDS")
        self.interval = max(0.5, min(5.0, settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT") / 4))
        self.seed_only = settings.getbool("AUTONEWS_REDIS_SEED_ONLY")
        # the lease the command line took (none under plain `scrapy crawl`)
        self.lock = worker_lease(settings, self.client) if settings.get("AUTONEWS_REDIS_LOCK_TOKEN") else None
        self.pushed: dict[str, int] = {}
        self.idle_since: float | None = None
        self.last_activity: int | None = None
        self.beat = task.LoopingCall(self.heartbeat)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.request_reached_downloader, signal=signals.request_reached_downloader)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerExtension:
        """Build the extension (enabled by ``crawler.distributed.addon.WorkerAddon``)."""
        return cls(crawler)

    def spider_opened(self) -> None:
        """Start beating."""
        if not self.seed_only:
            self.beat.start(self.interval, now=True)

    def heartbeat(self) -> None:
        """Mark this instance alive, extend the worker lease, push counters; Redis hiccups are counted, not fatal."""
        try:
            self.store.heartbeat()
            if self.lock is not None and not self.lock.refresh():
                logger.error("Lost the worker lease %s (another worker may run with this id)", self.lock.key)
            self.push_stats()
        except redis.RedisError as exc:
            self.crawler.stats.inc_value("autonews/distributed/redis_errors")
            logger.warning("Redis heartbeat failed: %s", exc)

    def request_reached_downloader(self, request: Any) -> None:
        """Count a seed as requested by the worker that downloads it (first attempt only)."""
        if request.meta.get("autonews_seed") and not request.meta.get("retry_times"):
            self.crawler.stats.inc_value("autonews/discovery/requested")

    def push_stats(self) -> None:
        """Add the change of every integer stat since the last push to the round's counters."""
        stats = self.crawler.stats.get_stats()
        current = stats.get("autonews/distributed/round")
        if not current:
            return
        key = self.keys.stats(current)
        pipe = self.client.pipeline(transaction=False)
        for name, value in stats.items():
            if isinstance(value, int) and not isinstance(value, bool) and not name.startswith("autonews/distributed/"):
                delta = value - self.pushed.get(name, 0)
                if delta:
                    pipe.hincrby(key, name, delta)
                    self.pushed[name] = value
        pipe.sadd(self.keys.stats_workers(current), self.instance)
        pipe.execute()

    def spider_idle(self) -> None:
        """Keep the worker open until the shared queue has stayed empty for the idle time."""
        if self.seed_only:
            return
        stats = self.crawler.stats
        activity = (stats.get_value("downloader/request_count", 0) or 0) + (stats.get_value("item_scraped_count", 0) or 0)
        now = time.monotonic()
        try:
            queued = self.client.zcard(self.keys.queue(self.crawler.spider.name))
        except redis.RedisError:
            queued = 1  # cannot tell: do not give up on a Redis hiccup
        if queued or activity != self.last_activity or self.idle_since is None:
            self.idle_since, self.last_activity = now, activity
            raise DontCloseSpider
        if now - self.idle_since < self.idle_seconds:
            raise DontCloseSpider
        logger.info("Shared queue empty for %.0f s: closing", now - self.idle_since)

    def spider_closed(self, reason: str) -> None:
        """Push the final counters, leave the live set, record the round's totals."""
        if self.beat.running:
            self.beat.stop()
        if self.seed_only:
            with contextlib.suppress(redis.RedisError):
                self.store.forget_instance(self.instance)  # a seeder is no worker: do not delay elections
            self.client.close()
            return
        try:
            self.push_stats()
            self.store.forget_instance(self.instance)
            current = self.crawler.stats.get_value("autonews/distributed/round")
            if current:
                self.crawler.stats.set_value("autonews/distributed/round_summary",
                                             format_round(round_report(self.client, self.keys, current)))
        except redis.RedisError as exc:
            logger.warning("Could not push the final counters: %s", exc)
        finally:
            self.client.close()
