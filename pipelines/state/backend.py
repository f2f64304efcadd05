"""The one place a dedupe state backend is chosen: by the URI scheme of ``AUTONEWS_STATE``.

A path is a SQLite file (``pipelines.state.sqlite_store``); ``redis://`` (or ``rediss://``) is the
Redis state shared by distributed workers (``pipelines.state.redis_store``). One store per
crawler, shared by the seen-URL middleware, the dedupe pipeline and the storage pipeline, so
they all see the uncommitted adds.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from pipelines.state.location import is_redis, resolve_state
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.state.store import DedupeStore

_CRAWLER_ATTR = "_autonews_dedupe_store"


def state_uri(settings: BaseSettings) -> str:
    """``AUTONEWS_STATE``, or the SQLite file under ``AUTONEWS_OUTPUT_DIR`` when it is empty."""
    return resolve_state(settings.get("AUTONEWS_STATE"), settings.get("AUTONEWS_OUTPUT_DIR"))


def redis_options(settings: BaseSettings) -> dict[str, Any]:
    """``RedisStore`` options from the ``AUTONEWS_REDIS_*`` settings that are set."""
    options: dict[str, Any] = {"prefix": settings.get("AUTONEWS_REDIS_PREFIX"),
                               "instance": settings.get("AUTONEWS_REDIS_INSTANCE")}
    if settings.get("AUTONEWS_REDIS_WORKER_TIMEOUT") not in (None, ""):
        options["timeout"] = settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT")
    return {key: value for key, value in options.items() if value not in (None, "")}


def open_state(uri: str, **redis_options: Any) -> DedupeStore:
    """Open the state at ``uri``: a Redis store for ``redis://`` URIs, else the SQLite file at that path.

    ``redis_options`` (``prefix``, ``instance``, ``timeout``) only apply to Redis.
    """
    if is_redis(uri):
        # imported here: a crawl on SQLite never loads the redis client (~6 MB resident)
        from pipelines.state.redis_store import RedisStore

        return RedisStore(uri, **redis_options)
    return SQLiteStore(uri)


def is_redis_store(store: DedupeStore) -> bool:
    """Whether ``store`` is the Redis state (one can only exist once ``open_state`` has imported its module)."""
    module = sys.modules.get("pipelines.state.redis_store")
    return module is not None and isinstance(store, module.RedisStore)


def open_store(crawler: Crawler) -> DedupeStore:
    """Return the crawler's store, opening it on first use from ``AUTONEWS_STATE``.

    Cached on the crawler (one connection), so every component shares uncommitted adds. It is
    closed (uncommitted adds rolled back) on ``spider_closed``, which Scrapy sends after every
    pipeline's ``close_spider``: the storage pipeline must have committed by then.
    """
    store = getattr(crawler, _CRAWLER_ATTR, None)
    if store is None:
        store = open_state(state_uri(crawler.settings), **redis_options(crawler.settings))
        setattr(crawler, _CRAWLER_ATTR, store)

        def _closed(**_: object) -> None:
            close_store(crawler)

        crawler.signals.connect(_closed, signal=signals.spider_closed, weak=False)
    return store


def current_store(crawler: Crawler) -> DedupeStore | None:
    """Return the crawler's store if a component has opened it, else None (nothing is opened)."""
    store = getattr(crawler, _CRAWLER_ATTR, None)
    return store if store is not None and not store.closed else None


def close_store(crawler: Crawler) -> None:
    """Close the crawler's store if one is open (uncommitted adds are rolled back); idempotent."""
    store = getattr(crawler, _CRAWLER_ATTR, None)
    if store is not None:
        store.close()
        setattr(crawler, _CRAWLER_ATTR, None)


def open_existing(uri: str | os.PathLike[str], **redis_options: Any) -> DedupeStore:
    """Open the state at ``uri`` for inspection; FileNotFoundError rather than a new empty SQLite file."""
    uri = str(uri)
    if not is_redis(uri) and not Path(uri).exists():
        raise FileNotFoundError(f"no state file at {uri}")
    return open_state(uri, **redis_options)


def state_stats(uri: str | os.PathLike[str], **redis_options: Any) -> dict:
    """``stats()`` of the state at ``uri`` (``autonews state stats``), SQLite or Redis."""
    store = open_existing(uri, **redis_options)
    try:
        return store.stats()
    finally:
        store.close()


def prune_state(uri: str | os.PathLike[str], older_than: timedelta, **redis_options: Any) -> int:
    """Prune the state at ``uri`` (``autonews state prune --older-than``); return the articles removed."""
    store = open_existing(uri, **redis_options)
    try:
        return store.prune(older_than)
    finally:
        store.close()
