"""Persistent deduplication state: interface, per-crawler store, CLI helpers.

``DedupeStore`` is the interface (a Redis backend can follow); ``SQLiteStore``
(``pipelines.state.sqlite_store``) keeps everything in one SQLite file in WAL mode.

Durability contract: ``add`` writes inside an open transaction that only ``commit``
ends. The storage pipeline calls ``commit()`` after the article lines are written and
fsynced, so an article is never recorded as seen before its line is durable. Lookups
on the same connection see the uncommitted adds (in-run duplicates are caught);
other connections do not. ``close()`` rolls back whatever was not committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from scrapy import signals

from pipelines.dedupe.neardup import NEAR_THRESHOLD, NearSignature
from pipelines.state.sqlite_store import SQLiteStore

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = [
    "DEFAULT_STATE_PATH",
    "DedupeStore",
    "SQLiteStore",
    "close_store",
    "open_store",
    "parse_age",
    "prune_state",
    "state_stats",
]


@runtime_checkable
class DedupeStore(Protocol):
    """What the dedupe pipeline, the seen-URL middleware and the storage pipeline need from a state backend."""

    def has_url(self, canonical: str) -> bool:
        """Return True when this canonical URL (or alias) was recorded."""

    def find_url(self, canonical: str) -> str | None:
        """Return the canonical URL of the article that owns this URL or alias, or None."""

    def find_fingerprint(self, fp: str) -> str | None:
        """Return the canonical URL of the article with this text fingerprint, or None."""

    def find_near(self, signature: NearSignature, threshold: float = NEAR_THRESHOLD) -> str | None:
        """Return the canonical URL of the most similar recorded article at or above ``threshold``, or None."""

    def add(
        self,
        canonical_url: str,
        *,
        aliases: Iterable[str] = (),
        fingerprint: str | None = None,
        signature: NearSignature | None = None,
        first_seen: datetime | None = None,
    ) -> None:
        """Record an article (uncommitted until :meth:`commit`)."""

    def add_record(self, record: dict) -> None:
        """Record an article from a written record (used to recover interrupted runs)."""

    def commit(self) -> None:
        """Make every add since the last commit durable."""

    def rollback(self) -> None:
        """Forget every add since the last commit."""

    def close(self) -> None:
        """Roll back uncommitted adds and release the backend."""

    def stats(self) -> dict:
        """Return counts and sizes describing the state."""

    def prune(self, older_than: timedelta) -> int:
        """Forget articles first seen more than ``older_than`` ago; return how many; commits."""



def state_stats(path: str | os.PathLike[str]) -> dict:
    """Return :meth:`SQLiteStore.stats` of the state file at ``path`` (for ``autonews state stats``)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no state file at {path}")
    store = SQLiteStore(path)
    try:
        return store.stats()
    finally:
        store.close()


def prune_state(path: str | os.PathLike[str], older_than: timedelta) -> int:
    """Prune the state file at ``path`` (for ``autonews state prune --older-than``); return articles removed."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no state file at {path}")
    store = SQLiteStore(path)
    try:
        return store.prune(older_than)
    finally:
        store.close()


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """Parse an age such as ``90d``, ``12h``, ``2w``, ``30m`` or ``45s`` into a timedelta.

    Raises ValueError for anything else.
    """
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"bad age {text!r}: expected a number and one of s, m, h, d, w (e.g. 90d)")
    return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})


DEFAULT_STATE_PATH = "output/state.sqlite3"
_CRAWLER_ATTR = "_autonews_dedupe_store"


def open_store(crawler: Crawler) -> DedupeStore:
    """Return the crawler's store, opening it on first use (path: setting ``AUTONEWS_STATE``).

    One store (one connection) per crawler, cached on the crawler, so the dedupe
    pipeline, the seen-URL middleware and the storage pipeline share uncommitted
    adds. It is closed (uncommitted adds rolled back) on ``spider_closed``, which
    Scrapy sends after every pipeline's ``close_spider``: the storage pipeline must
    have committed by then.
    """
    store = getattr(crawler, _CRAWLER_ATTR, None)
    if store is None:
        if crawler.settings.get("AUTONEWS_REDIS_URL"):  # distributed workers share one Redis (pipelines/state_redis.py)
            from pipelines.state.redis_store import RedisStore

            store = RedisStore.from_settings(crawler.settings)
        else:
            store = SQLiteStore(crawler.settings.get("AUTONEWS_STATE") or DEFAULT_STATE_PATH)
        setattr(crawler, _CRAWLER_ATTR, store)

        def _closed(**_: object) -> None:
            close_store(crawler)

        crawler.signals.connect(_closed, signal=signals.spider_closed, weak=False)
    return store


def close_store(crawler: Crawler) -> None:
    """Close the crawler's store if one is open (uncommitted adds are rolled back); idempotent."""
    store = getattr(crawler, _CRAWLER_ATTR, None)
    if store is not None:
        store.close()
        setattr(crawler, _CRAWLER_ATTR, None)
