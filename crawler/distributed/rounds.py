"""Seeding and rounds of a distributed crawl: who enqueues the registry, and the shared run report.

A *round* is one pass over the registry by any number of workers. It starts when the
registry's feeds, sitemaps and section pages are enqueued: by ``autonews seed``, or by
the first worker that starts while the shared queue is empty and no other worker is
alive (an atomic election in Redis, so two workers started together seed once).
Seeding clears the shared request dupefilter, so discovery pages are re-fetched and
URLs a killed worker popped but never finished can be discovered again; article URLs
already stored are still skipped by the shared seen-URL state.

Counters: every worker adds its stats to ``<prefix>:stats:<round>`` (see
``crawler.distributed.extension``); :func:`round_report` reads them back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy_redis.scheduler import Scheduler

from crawler.distributed.connection import connect, redis_keys
from crawler.extensions.runstatus import SUMMARY_KEYS
from pipelines.state.redis_keys import RedisKeys

_ELECT = r"""
-- ARGV: live key, round key, stats key prefix, me, timeout ms, queue key, dupefilter key, force ('1' or '0').
-- Returns {seeded 0/1, round}.
local live, round_key, stats, me, timeout, queue, dupefilter, force =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', live, '-inf', now - 86400000)
redis.call('ZADD', live, now, me)
local round = tonumber(redis.call('GET', round_key) or '0')
if force ~= '1' then
  if round > 0 and redis.call('ZCARD', queue) > 0 then return {0, round} end
  for _, w in ipairs(redis.call('ZRANGEBYSCORE', live, now - timeout, '+inf')) do
    if w ~= me and round > 0 then return {0, round} end
  end
end
redis.call('DEL', dupefilter)
round = redis.call('INCR', round_key)
redis.call('HSET', stats .. round, 'distributed/started_ms', now)
return {1, round}
"""


def elect_seeder(client: redis.Redis, keys: RedisKeys, instance: str, spider: str, timeout: float,
                 force: bool = False) -> tuple[bool, int]:
    """Return ``(seed now?, round)``; when seeding, a new round starts and the dupefilter is cleared.

    Seeds when forced, or when the queue is empty and no other instance is alive.
    """
    seeded, current = client.eval(_ELECT, 0, keys.live, keys.round, keys.stats_prefix, instance, int(timeout * 1000),
                                  keys.queue(spider), keys.dupefilter(spider), "1" if force else "0")
    return bool(seeded), int(current)


class SeedElection:
    """Spider middleware of worker mode: the start requests go out only from the worker elected to seed.

    Whatever passes goes through the scrapy-redis scheduler into the shared queue; all the
    crawling itself comes from that queue. ``autonews seed`` (``AUTONEWS_REDIS_SEED_ONLY``)
    always seeds, starting a new round.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeedElection:
        """Build the middleware (enabled by ``crawler.distributed.addon.WorkerAddon``)."""
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Yield the spider's start requests if this worker is elected, else nothing."""
        settings = self.crawler.settings
        spider = self.crawler.spider
        keys = redis_keys(settings)
        client = connect(settings)
        try:
            seeding, current = elect_seeder(
                client, keys, settings.get("AUTONEWS_REDIS_INSTANCE"), spider.name,
                settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT"), force=settings.getbool("AUTONEWS_REDIS_SEED_ONLY"))
        finally:
            client.close()
        stats = self.crawler.stats
        stats.set_value("autonews/distributed/round", current)
        if getattr(spider, "start_is_shared", False):  # the backfill: every worker takes its own WARC files
            async for item in start:
                yield item
            return
        if not seeding:
            spider.logger.info("Joining round %d", current)
            return
        spider.logger.info("Seeding round %d", current)
        count = 0
        async for request in start:
            if isinstance(request, Request):
                request.meta["autonews_seed"] = True
                count += 1
            yield request
        # The worker that downloads a seed counts it as requested (crawler.distributed.extension), not the seeder.
        stats.inc_value("autonews/discovery/requested", -count)
        stats.inc_value("autonews/distributed/seeded", count)


class SeedOnlyScheduler(Scheduler):
    """scrapy-redis scheduler that only enqueues (``autonews seed``): it never hands out a request."""

    def next_request(self) -> None:
        """Never dequeue: the workers crawl, the seeding process does not."""
        return None

    def has_pending_requests(self) -> bool:
        """Report nothing pending, so the seeding process closes once its seeds are enqueued."""
        return False


def round_report(client: redis.Redis, keys: RedisKeys, current: int | None = None) -> dict[str, Any]:
    """Return the summed counters of a round (default: the latest) and the workers that reported."""
    if current is None:
        current = int(client.get(keys.round) or 0)
    raw = client.hgetall(keys.stats(current))
    counters = {k.decode(): int(float(v)) for k, v in raw.items()}
    workers = sorted(w.decode() for w in client.smembers(keys.stats_workers(current)))
    return {"round": current, "workers": workers, "stats": counters}


def format_round(report: dict[str, Any]) -> str:
    """One summary line for a round, with the same labels as a single crawl's summary."""
    stats = dict(report["stats"])
    stats["autonews/dropped/duplicates"] = sum(
        v for k, v in stats.items() if k.startswith("autonews/dropped/") and "duplicate" in k and k != "autonews/dropped/duplicates")
    parts = [f"{label}: {stats.get(key, 0)}" for label, key in SUMMARY_KEYS]
    return f"autonews: round {report['round']} ({len(report['workers'])} worker(s)) so far: " + ", ".join(parts)
