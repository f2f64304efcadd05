"""One running worker per worker id: a lease in Redis (``<prefix>:lock:<worker id>``).

The distributed counterpart of the state file's ``flock`` (``crawler.cli.lock``): a killed
worker's lease expires after ``AUTONEWS_REDIS_WORKER_TIMEOUT`` unless refreshed (the worker
extension refreshes it with its heartbeat), so a crash never leaves a stale lock for long.
"""

from __future__ import annotations

import contextlib
import socket
import uuid

import redis
from scrapy.settings import Settings

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_LOCKED, eprint
from crawler.cli.lock import LockedError
from crawler.distributed.connection import connect, redis_keys
from pipelines.storage.naming import instance_name

_REFRESH = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class RedisRunLock:
    """A lease on ``key`` held with ``token``, expiring after ``ttl`` seconds unless refreshed."""

    def __init__(self, client: redis.Redis, key: str, token: str, ttl: float) -> None:
        self.client = client
        self.key = key
        self.token = token
        self.ttl_ms = int(ttl * 1000)

    def acquire(self) -> RedisRunLock:
        """Take the lease or raise :class:`LockedError` naming the holder."""
        if not self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            holder = self.client.get(self.key)
            name = holder.decode(errors="replace") if isinstance(holder, bytes) else "?"
            raise LockedError(f"another autonews worker ({name}) holds {self.key}")
        return self

    def refresh(self) -> bool:
        """Extend the lease; False when it was lost (expired and taken)."""
        return bool(self.client.eval(_REFRESH, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        """Release the lease if this process still holds it."""
        self.client.eval(_RELEASE, 1, self.key, self.token)

    def __enter__(self) -> RedisRunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def worker_lease(settings: Settings, client: redis.Redis) -> RedisRunLock:
    """This worker's lease (token from ``AUTONEWS_REDIS_LOCK_TOKEN``)."""
    return RedisRunLock(client, redis_keys(settings).lock(settings.get("AUTONEWS_WORKER_ID")),
                        settings.get("AUTONEWS_REDIS_LOCK_TOKEN"), settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT"))


def hold_worker_lease(settings: Settings, stack: contextlib.ExitStack) -> int | None:
    """Take this worker id's lease for the crawl (released by ``stack``); name this worker in the settings.

    Returns None to go on, or the exit status: 75 when the worker id is running, 1 when
    Redis cannot be reached.
    """
    worker = settings.get("AUTONEWS_WORKER_ID") or socket.gethostname()
    instance = instance_name(worker)
    settings.set("AUTONEWS_WORKER_ID", worker, priority="cmdline")
    settings.set("AUTONEWS_REDIS_INSTANCE", instance, priority="cmdline")
    settings.set("AUTONEWS_REDIS_LOCK_TOKEN", f"{instance}:{uuid.uuid4().hex[:8]}", priority="cmdline")
    client = connect(settings)
    stack.callback(client.close)
    try:
        stack.enter_context(worker_lease(settings, client))
    except LockedError as exc:
        eprint(f"autonews: {exc}; exiting (status {EXIT_LOCKED})")
        return EXIT_LOCKED
    except redis.RedisError as exc:
        eprint(f"autonews: error: cannot use Redis at {settings.get('AUTONEWS_REDIS_URL')}: {exc}")  # redacted by eprint
        return EXIT_FAILED
    return None
