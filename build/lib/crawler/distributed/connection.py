"""The Redis client and key names of worker mode, from the ``AUTONEWS_REDIS_*`` settings."""

from __future__ import annotations

import redis
from scrapy.settings import BaseSettings

from pipelines.state.redis_keys import RedisKeys


def connect(settings: BaseSettings) -> redis.Redis:
    """A client of ``AUTONEWS_REDIS_URL``."""
    return redis.Redis.from_url(settings.get("AUTONEWS_REDIS_URL"), socket_timeout=30, socket_connect_timeout=10)


def redis_keys(settings: BaseSettings) -> RedisKeys:
    """Every key name, under ``AUTONEWS_REDIS_PREFIX``."""
    return RedisKeys(settings.get("AUTONEWS_REDIS_PREFIX"))
