"""The shared request queue of worker mode (scrapy-redis ``SCHEDULER_QUEUE_CLASS``): bad entries are dropped.

scrapy-redis decodes an entry inside ``pop``; an exception there would reach the scheduler and
the engine, so one bad entry written by anyone with access to Redis could stop a worker.
:class:`JsonPriorityQueue` decodes with :mod:`crawler.distributed.serializer` only, whatever
``SCHEDULER_SERIALIZER`` says (pickle would run code before any check could look at it), and
turns an entry it cannot accept into a count (``autonews/errors/bad_queue_entry``), a short log
line without the payload, and the next entry.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.utils.request import request_from_dict
from scrapy_redis.queue import PriorityQueue

from crawler.distributed import serializer as entries

logger = logging.getLogger(__name__)

BAD_ENTRY_STAT = "autonews/errors/bad_queue_entry"
LOGGED_PER_RUN = 10
"""Bad entries logged one by one in a run; later ones are only counted (a flood must not flood the log)."""
MAX_SKIPPED_PER_POP = 1000
"""Bad entries one ``pop`` drops before it returns nothing for now: the reactor must not stall on a flood.

The scheduler still reports pending requests, so the engine asks again.
"""
_PREVIEW_BYTES = 24


class JsonPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue (a sorted set) with checked JSON entries; bad entries are skipped."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        """Open the queue at ``key``; ``serializer`` is ignored: entries are always checked JSON (module docstring)."""
        super().__init__(server, spider, key, serializer=entries)
        self.rejected = 0
        crawler = getattr(spider, "crawler", None)
        self._stats = crawler.stats if crawler is not None else None
        if crawler is not None:
            crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    def pop(self, timeout: int = 0) -> Request | None:
        """Remove and return the first request that decodes; drop (and count) the bad entries before it."""
        for _ in range(MAX_SKIPPED_PER_POP + 1):
            # The same atomic take-first as scrapy-redis: a popped entry is gone, good or bad.
            pipe = self.server.pipeline()
            pipe.multi()
            pipe.zrange(self.key, 0, 0).zremrangebyrank(self.key, 0, 0)
            results, _ = pipe.execute()
            if not results:
                return None
            request = self._decode_request(results[0])
            if request is not None:
                return request
        return None

    def _decode_request(self, encoded_request: bytes) -> Request | None:
        """Return the request of an entry, or None (counted and logged) when the entry is refused."""
        try:
            fields = entries.loads(encoded_request)
            # The callback names passed the allow-list; resolving them on the spider can still fail
            # (a name the running spider lacks), as can Request() itself: a bad entry either way.
            return request_from_dict(fields, spider=self.spider)
        except Exception as exc:  # noqa: BLE001 (the entry is untrusted input: whatever it breaks, drop it)
            self._reject(encoded_request, exc)
            return None

    def _reject(self, entry: bytes, exc: Exception) -> None:
        self.rejected += 1
        if self._stats is not None:
            self._stats.inc_value(BAD_ENTRY_STAT)
            self._stats.inc_value("autonews/errors/total")
        if self.rejected <= LOGGED_PER_RUN:
            reason = str(exc) if isinstance(exc, entries.BadQueueEntry) else f"{type(exc).__name__}: {str(exc)[:80]}"
            logger.warning("Dropped a bad entry of the shared request queue %s (%s): %d bytes starting %r",
                           self.key, reason, len(entry), bytes(entry[:_PREVIEW_BYTES]))
            if self.rejected == LOGGED_PER_RUN:
                logger.warning("Further bad entries of %s are counted (%s), not logged", self.key, BAD_ENTRY_STAT)

    def _spider_closed(self) -> None:
        if self.rejected:
            logger.warning("Dropped %d bad entr%s of the shared request queue %s this run (%s): something other "
                           "than autonews workers writes to it", self.rejected, "y" if self.rejected == 1 else "ies",
                           self.key, BAD_ENTRY_STAT)
