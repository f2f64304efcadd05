"""Worker mode: ``autonews crawl --redis redis://HOST:PORT/DB`` shares one crawl between processes and machines.

What is shared through Redis, and by whom:

- request queue and request dupefilter: the scrapy-redis scheduler (``SCHEDULER_PERSIST``
  so a worker that exits does not flush the queue of the others);
- seen-URL and near-duplicate state: ``pipelines.state.redis_store.RedisStore``, picked by
  ``open_store`` when ``AUTONEWS_REDIS_URL`` is set; ``pipelines.storage.recovery.WorkerDedupePipeline`` claims
  articles atomically instead of check-then-add;
- run lock: a lease per worker id (``crawler.cli.lock.RedisRunLock``), so a cron start while
  the same worker is still running exits 75;
- run report counters: :class:`WorkerExtension` adds this worker's stats to the round's
  counters (``crawler.distributed.rounds.round_report``); scrapy-redis' RedisStatsCollector is not used
  (it fails on close with current Scrapy): Scrapy keeps its own stats.

Seeding and rounds: ``crawler.distributed.rounds``. Idle exit: a worker closes once the shared queue
has stayed empty for ``AUTONEWS_REDIS_IDLE_SECONDS`` (checked on Scrapy's 5 s idle tick;
scrapy-redis' own MAX_IDLE_TIME_BEFORE_CLOSE counts from import time in 0.9.1 and is not
used). Each worker writes its own sealed files, named ``<time>-<worker id>-<pid>-<n>``.

Settings: ``AUTONEWS_REDIS_URL``, ``AUTONEWS_REDIS_PREFIX`` (autonews),
``AUTONEWS_REDIS_IDLE_SECONDS`` (30), ``AUTONEWS_REDIS_WORKER_TIMEOUT`` (60),
``AUTONEWS_WORKER_ID`` (host name). Stats: ``autonews/distributed/{round,seeded,lost_claims,
recovery_dropped,redis_errors}``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.settings import Settings
from twisted.internet import task

from crawler.cli.lock import LockedError, RedisRunLock
from pipelines.state.redis_store import DEFAULT_PREFIX, RedisStore

logger = logging.getLogger(__name__)

DEFAULTS = {"AUTONEWS_REDIS_PREFIX": DEFAULT_PREFIX, "AUTONEWS_REDIS_IDLE_SECONDS": 30,
            "AUTONEWS_REDIS_WORKER_TIMEOUT": 60}


def worker_keys(settings: Settings) -> dict[str, str]:
    """Redis key names (``%(spider)s`` templates for the scheduler's) under ``AUTONEWS_REDIS_PREFIX``."""
    prefix = settings.get("AUTONEWS_REDIS_PREFIX") or DEFAULT_PREFIX
    return {"prefix": prefix, "queue": f"{prefix}:%(spider)s:requests",
            "dupefilter": f"{prefix}:%(spider)s:dupefilter", "lock": f"{prefix}:lock:"}


def connect(settings: Settings) -> redis.Redis:
    """A client of ``AUTONEWS_REDIS_URL``."""
    return redis.Redis.from_url(settings.get("AUTONEWS_REDIS_URL"), socket_timeout=30, socket_connect_timeout=10)


def apply_worker_settings(settings: Settings, seed_only: bool = False) -> None:
    """Switch crawl settings into worker mode (or into the enqueue-only mode of ``autonews seed``)."""
    for key, value in DEFAULTS.items():
        if settings.get(key) in (None, ""):
            settings.set(key, value, priority="cmdline")
    worker = settings.get("AUTONEWS_WORKER_ID") or socket.gethostname()
    keys = worker_keys(settings)
    values: dict[str, Any] = {
        "AUTONEWS_WORKER_ID": worker,
        # Must match the storage pipeline's file names: <time>-<worker>-<pid>-<n>.
        "AUTONEWS_REDIS_INSTANCE": f"{worker}-{os.getpid()}",
        "REDIS_URL": settings.get("AUTONEWS_REDIS_URL"),
        "SCHEDULER": "crawler.distributed.rounds.SeedOnlyScheduler" if seed_only else "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": keys["queue"],
        "SCHEDULER_DUPEFILTER_KEY": keys["dupefilter"],
        "AUTONEWS_REDIS_SEED_ONLY": seed_only,
    }
    for key, value in values.items():
        settings.set(key, value, priority="cmdline")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    if seed_only:
        pipelines = {}
    else:
        for old, new in (("pipelines.dedupe.pipeline.DedupePipeline", "pipelines.storage.recovery.WorkerDedupePipeline"),
                         ("pipelines.storage.pipeline.StoragePipeline", "pipelines.storage.recovery.WorkerStoragePipeline")):
            if old in pipelines:
                pipelines[new] = pipelines.pop(old)
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.distributed.addon.WorkerExtension"] = 510
    settings.set("EXTENSIONS", extensions, priority="cmdline")


def enter_worker(settings: Settings, stack: contextlib.ExitStack) -> int | None:
    """Apply worker settings and take this worker id's Redis lease (released by ``stack``).

    Returns None to go on, or the exit status: 75 when the worker id is running, 1 when
    Redis cannot be reached.
    """
    from crawler.cli.exitcodes import EXIT_FAILED, EXIT_LOCKED, eprint

    apply_worker_settings(settings)
    token = f"{settings.get('AUTONEWS_REDIS_INSTANCE')}:{uuid.uuid4().hex[:8]}"
    settings.set("AUTONEWS_REDIS_LOCK_TOKEN", token, priority="cmdline")
    client = connect(settings)
    stack.callback(client.close)
    lock = RedisRunLock(client, worker_keys(settings)["lock"] + settings.get("AUTONEWS_WORKER_ID"), token,
                        settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT"))
    try:
        stack.enter_context(lock)
    except LockedError as exc:
        eprint(f"autonews: {exc}; exiting (status {EXIT_LOCKED})")
        return EXIT_LOCKED
    except redis.RedisError as exc:
        eprint(f"autonews: error: cannot use Redis at {settings.get('AUTONEWS_REDIS_URL')}: {exc}")
        return EXIT_FAILED
    return None


class WorkerExtension:
    """Heartbeat and lease refresh, stats push to the round's counters, idle exit."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.client = connect(settings)
        keys = worker_keys(settings)
        self.prefix = keys["prefix"]
        self.queue_key = keys["queue"]
        self.instance = settings.get("AUTONEWS_REDIS_INSTANCE")
        self.store = RedisStore(settings.get("AUTONEWS_REDIS_URL"), prefix=self.prefix, instance=self.instance,
                                client=self.client)
        self.idle_seconds = settings.getfloat("AUTONEWS_REDIS_IDLE_SECONDS", 30)
        timeout = settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT", 60)
        self.interval = max(0.5, min(5.0, timeout / 4))
        self.seed_only = settings.getbool("AUTONEWS_REDIS_SEED_ONLY")
        token = settings.get("AUTONEWS_REDIS_LOCK_TOKEN")
        self.lock = (RedisRunLock(self.client, keys["lock"] + settings.get("AUTONEWS_WORKER_ID"), token, timeout)
                     if token else None)
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
        """Build the extension (only enabled by :func:`apply_worker_settings`)."""
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
        key = f"{self.prefix}:stats:{current}"
        pipe = self.client.pipeline(transaction=False)
        for name, value in stats.items():
            if isinstance(value, int) and not isinstance(value, bool) and not name.startswith("autonews/distributed/"):
                delta = value - self.pushed.get(name, 0)
                if delta:
                    pipe.hincrby(key, name, delta)
                    self.pushed[name] = value
        pipe.sadd(f"{key}:workers", self.instance)
        pipe.execute()

    def spider_idle(self) -> None:
        """Keep the worker open until the shared queue has stayed empty for the idle time."""
        if self.seed_only:
            return
        stats = self.crawler.stats
        activity = (stats.get_value("downloader/request_count", 0) or 0) + (stats.get_value("item_scraped_count", 0) or 0)
        now = time.monotonic()
        try:
            queued = self.client.zcard(self.queue_key % {"spider": self.crawler.spider.name})
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
        from crawler.distributed.rounds import format_round, round_report

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
                                             format_round(round_report(self.client, self.prefix, current)))
        except redis.RedisError as exc:
            logger.warning("Could not push the final counters: %s", exc)
        finally:
            self.client.close()
