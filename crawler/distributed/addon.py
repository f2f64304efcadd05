"""Worker mode as one Scrapy add-on: ``autonews crawl --redis redis://HOST:PORT/DB``.

Enabled in ``ADDONS`` for every crawl; it changes nothing unless ``AUTONEWS_REDIS_URL`` is set
(``--redis`` sets it, as does ``-s`` under ``scrapy crawl``). Then it switches the crawl to
what the workers share through Redis:

- request queue and request dupefilter: the scrapy-redis scheduler (``SCHEDULER_PERSIST``, so a
  worker that exits does not flush the queue of the others), with key names from
  ``pipelines.state.redis_keys``; queue entries are checked JSON, never pickle
  (``crawler.distributed.serializer``), and an entry that is not a request the spiders could
  have made is counted and dropped (``crawler.distributed.queue``);
- seen-URL and near-duplicate state: ``AUTONEWS_STATE`` becomes the Redis URL, so
  ``pipelines.state.backend`` opens the Redis store, whose ``claim`` is atomic across workers;
- seeding: :class:`crawler.distributed.rounds.SeedElection` lets the start requests through only
  when this worker is elected to seed the round (``autonews seed``: only seeds, never crawls);
- heartbeat, lease refresh, round counters and idle exit:
  :class:`crawler.distributed.extension.WorkerExtension`.

The lease itself (one running worker per worker id) is taken by the command line before the
crawl starts (``crawler.distributed.lease``). Each worker writes its own sealed files, named
after its instance (``pipelines.storage.naming``), and recovers dead workers' files
(``pipelines.storage.recovery``).
"""

from __future__ import annotations

import socket

from typing import Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.security.logs import install_log_redaction
from pipelines.state.location import is_redis
from pipelines.storage.naming import instance_name

EXTENSION = "crawler.distributed.extension.WorkerExtension"
SEED_MIDDLEWARE = "crawler.distributed.rounds.SeedElection"
SCHEDULER = "scrapy_redis.scheduler.Scheduler"
SEED_ONLY_SCHEDULER = "crawler.distributed.rounds.SeedOnlyScheduler"
# scrapy-redis would unpickle whatever anyone with access to Redis put in the queue.
QUEUE = "crawler.distributed.queue.JsonPriorityQueue"
SERIALIZER = "crawler.distributed.serializer"


class WorkerAddon:
    """Switches a crawl into worker mode when ``AUTONEWS_REDIS_URL`` is set; a no-op otherwise."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Apply worker-mode settings at add-on priority (``-s`` on the command line still wins)."""
        url = settings.get("AUTONEWS_REDIS_URL")
        if not url:
            return
        install_log_redaction()  # the URL may hold the Redis password; Scrapy logs REDIS_URL at start-up
        # imported here: this add-on is enabled in every crawl, and one on SQLite never needs the redis client
        from crawler.distributed.connection import redis_keys

        keys = redis_keys(settings)
        seed_only = settings.getbool("AUTONEWS_REDIS_SEED_ONLY")
        worker = settings.get("AUTONEWS_WORKER_ID") or socket.gethostname()
        values = {
            "AUTONEWS_WORKER_ID": worker,
            "AUTONEWS_REDIS_INSTANCE": settings.get("AUTONEWS_REDIS_INSTANCE") or instance_name(worker),
            "REDIS_URL": url,
            "SCHEDULER": SEED_ONLY_SCHEDULER if seed_only else SCHEDULER,
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_KEY": keys.queue_template,
            "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter_template,
            "SCHEDULER_QUEUE_CLASS": QUEUE,
            "SCHEDULER_SERIALIZER": SERIALIZER,
        }
        if not is_redis(settings.get("AUTONEWS_STATE") or ""):
            values["AUTONEWS_STATE"] = url  # workers share one dedupe state: the Redis they share
        if seed_only:  # the seeding process downloads nothing, so it has nothing to process
            values["ITEM_PIPELINES"] = {}
        for key, value in values.items():
            _force(settings, key, value)
        settings["EXTENSIONS"][EXTENSION] = 510
        settings["SPIDER_MIDDLEWARES"][SEED_MIDDLEWARE] = 0


def _force(settings: BaseSettings, key: str, value: Any) -> None:
    """Set ``key`` whatever priority it had: worker mode cannot run with the single-crawl value.

    Add-on priority alone would lose to the project's own ``crawler/settings.py``.
    """
    priority = max(SETTINGS_PRIORITIES["addon"], settings.getpriority(key) or 0)
    settings.set(key, value, priority=priority)
