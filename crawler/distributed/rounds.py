"""Seeding and rounds of a distributed crawl: who enqueues the registry, and the shared run report.

A *round* is one pass over the registry by any number of workers. It starts when the
registry's feeds, sitemaps and section pages are enqueued: by ``autonews seed``, or by
the first worker that starts while the shared queue is empty and no other worker is
alive (an atomic election in Redis, so two workers started together seed once).
Seeding clears the shared request dupefilter, so discovery pages are re-fetched and
URLs a killed worker popped but never finished can be discovered again; article URLs
already stored are still skipped by the shared seen-URL state.

Counters: every worker adds its stats to ``<prefix>:stats:<round>`` (see
``crawler.distributed.addon``); :func:`round_report` reads them back.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy_redis.scheduler import Scheduler

from crawler.extensions.runstatus import SUMMARY_KEYS

if TYPE_CHECKING:
    import redis
    from scrapy import Request, Spider

_ELECT = r"""
-- ARGV: prefix, me, timeout ms, queue key, dupefilter key, force ('1' or '0'). Returns {seeded 0/1, round}.
local P, me, timeout, queue, dupefilter, force = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', P .. ':live', '-inf', now - 86400000)
redis.call('ZADD', P .. ':live', now, me)
local round = tonumber(redis.call('GET', P .. ':round') or '0')
if force ~= '1' then
  if round > 0 and redis.call('ZCARD', queue) > 0 then return {0, round} end
  for _, w in ipairs(redis.call('ZRANGEBYSCORE', P .. ':live', now - timeout, '+inf')) do
    if w ~= me and round > 0 then return {0, round} end
  end
end
redis.call('DEL', dupefilter)
round = redis.call('INCR', P .. ':round')
redis.call('HSET', P .. ':stats:' .. round, 'distributed/started_ms', now)
return {1, round}
"""


def elect_seeder(client: redis.Redis, prefix: str, instance: str, timeout: float, queue_key: str,
                 dupefilter_key: str, force: bool = False) -> tuple[bool, int]:
    """Return ``(seed now?, round)``; when seeding, a new round starts and the dupefilter is cleared.

    Seeds when forced, or when the queue is empty and no other instance is alive.
    """
    seeded, current = client.eval(_ELECT, 0, prefix, instance, int(timeout * 1000), queue_key, dupefilter_key,
                                  "1" if force else "0")
    return bool(seeded), int(current)


async def worker_start(spider: Spider) -> AsyncIterator[Request]:
    """``NewsSpider.start`` of a worker: the registry's discovery requests if elected, else nothing.

    Whatever is yielded goes through the scrapy-redis scheduler into the shared queue;
    all the crawling itself comes from that queue.
    """
    from crawler.distributed.addon import connect, worker_keys

    settings = spider.crawler.settings
    keys = worker_keys(settings)
    client = connect(settings)
    try:
        seeding, current = elect_seeder(
            client, keys["prefix"], settings.get("AUTONEWS_REDIS_INSTANCE"),
            settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT", 60), keys["queue"] % {"spider": spider.name},
            keys["dupefilter"] % {"spider": spider.name}, force=settings.getbool("AUTONEWS_REDIS_SEED_ONLY"))
    finally:
        client.close()
    stats = spider.crawler.stats
    stats.set_value("autonews/distributed/round", current)
    if not seeding:
        spider.logger.info("Joining round %d", current)
        return
    spider.logger.info("Seeding round %d", current)
    count = 0
    for request in spider.seed_requests():  # type: ignore[attr-defined]
        request.meta["autonews_seed"] = True
        count += 1
        yield request
    # The worker that downloads a seed counts it as requested (crawler.distributed.addon), not the seeder.
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


def round_report(client: redis.Redis, prefix: str, current: int | None = None) -> dict[str, Any]:
    """Return the summed counters of a round (default: the latest) and the workers that reported."""
    if current is None:
        current = int(client.get(f"{prefix}:round") or 0)
    raw = client.hgetall(f"{prefix}:stats:{current}")
    counters = {k.decode(): int(float(v)) for k, v in raw.items()}
    workers = sorted(w.decode() for w in client.smembers(f"{prefix}:stats:{current}:workers"))
    return {"round": current, "workers": workers, "stats": counters}


def format_round(report: dict[str, Any]) -> str:
    """One summary line for a round, with the same labels as a single crawl's summary."""
    stats = dict(report["stats"])
    stats["autonews/dropped/duplicates"] = sum(
        v for k, v in stats.items() if k.startswith("autonews/dropped/") and "duplicate" in k and k != "autonews/dropped/duplicates")
    parts = [f"{label}: {stats.get(key, 0)}" for label, key in SUMMARY_KEYS]
    return f"autonews: round {report['round']} ({len(report['workers'])} worker(s)) so far: " + ", ".join(parts)


def cmd_seed(args: argparse.Namespace) -> int:
    """``autonews seed --redis URL``: start a new round by enqueuing the registry; print what was seeded."""
    from crawler.distributed.addon import apply_worker_settings
    from crawler.cli.exitcodes import EXIT_FAILED, EXIT_USAGE, eprint
    from crawler.cli.runner import configure_console_logging, project_settings, run_spider
    from crawler.sources.registry import DEFAULT_SOURCES, SourceError, load_sources

    settings = project_settings(args.overrides, AUTONEWS_REDIS_URL=args.redis, AUTONEWS_SOURCES=args.sources,
                                AUTONEWS_SOURCE_NAMES=args.source or None)
    if not settings.get("AUTONEWS_REDIS_URL"):
        eprint("autonews: error: seed needs --redis URL (or -s AUTONEWS_REDIS_URL=...)")
        return EXIT_USAGE
    configure_console_logging(settings, args.verbose, args.log_file)
    try:
        load_sources(settings.get("AUTONEWS_SOURCES") or DEFAULT_SOURCES, names=settings.getlist("AUTONEWS_SOURCE_NAMES"),
                     substitutions=settings.getdict("AUTONEWS_SUBSTITUTIONS") or None)
    except (SourceError, OSError) as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    apply_worker_settings(settings, seed_only=True)
    stats = run_spider("news", settings)
    seeded = stats.get("autonews/distributed/seeded", 0)
    if not seeded or stats.get("finish_reason") != "finished":
        eprint(f"autonews: seeding failed (finish reason: {stats.get('finish_reason')}, seeded: {seeded})")
        return EXIT_FAILED
    eprint(f"autonews: seeded {seeded} discovery request(s), round {stats.get('autonews/distributed/round')}")
    return 0
