"""Is the dedupe state there, and can it be read? Checked before a crawl touches it.

A crawl on a corrupt state would fail half-way with a traceback (``database disk image is
malformed``), and a crawl on a lost one would fetch and write every listed article again. Both
are told apart here, before anything runs: :func:`check_state` says whether a state exists and
raises :class:`StateUnreadable` when it exists but cannot be read. No heavy imports (the command
line runs this before Scrapy loads); the redis client is imported only for a Redis state.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from pipelines.state.location import is_redis
from pipelines.state.redis_keys import DEFAULT_PREFIX, RedisKeys

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER = 100


class StateUnreadable(RuntimeError):
    """The state exists but cannot be read (truncated, not a database, malformed, wrong key types)."""


class StateUnavailable(RuntimeError):
    """The Redis holding the state cannot be reached: nothing is known about the state itself."""


def check_state(uri: str, *, prefix: str | None = None) -> bool:
    """True when a readable state is at ``uri``, False when there is none (a missing or empty SQLite
    file, a Redis without the state's keys); raise :class:`StateUnreadable` when it is there but unreadable.

    A Redis that cannot be reached raises :class:`StateUnavailable`.
    """
    if is_redis(uri):
        return _check_redis(uri, prefix or DEFAULT_PREFIX)
    return _check_sqlite(Path(uri))


def _check_sqlite(path: Path) -> bool:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateUnreadable(exc.strerror or str(exc)) from None
    if size == 0:
        return False  # what a first crawl creates before its schema: a new state
    try:
        with open(path, "rb") as fh:
            header = fh.read(_HEADER)
    except OSError as exc:
        raise StateUnreadable(exc.strerror or str(exc)) from None
    if len(header) < _HEADER or not header.startswith(_SQLITE_MAGIC):
        raise StateUnreadable("not a SQLite database (its first bytes are not a SQLite header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # the header's page count is valid when its change counter equals the "version valid for" field
    if header[24:28] == header[92:96] and size < pages * page_size:
        raise StateUnreadable(f"the file is truncated: {size} bytes, its header says {pages * page_size}")
    try:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"docs", "urls", "bands"} <= tables:
                raise StateUnreadable("a SQLite database, but not a dedupe state (no docs, urls and bands tables)")
            # every page of every table and index is read: cheap next to a crawl, and the only way to see
            # a page damaged in the middle (measured in the README, Recovering the state)
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StateUnreadable(str(exc)) from None
    if problems != ["ok"]:
        raise StateUnreadable("; ".join(problems))
    return True


def _check_redis(url: str, prefix: str) -> bool:
    import redis  # only a Redis state loads the client

    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
    try:
        return _check_redis_keys(client, prefix)
    except redis.RedisError as exc:
        raise StateUnavailable(str(exc)) from None
    finally:
        client.close()


def _check_redis_keys(client: Any, prefix: str) -> bool:
    """Whether the state's counters are there (False: none), raising StateUnreadable when they are not usable."""
    count, docid = RedisKeys(prefix).count, f"{prefix}:docid"
    kinds = {name: client.type(name).decode() for name in (count, docid)}
    if kinds[count] not in ("none", "hash") or kinds[docid] not in ("none", "string"):
        raise StateUnreadable(f"its keys have the wrong types: {kinds}")
    if kinds[count] == "none" and kinds[docid] == "none":
        return False
    try:
        for value in (client.get(docid) or b"0", *client.hgetall(count).values()):
            int(value)
    except ValueError:
        raise StateUnreadable("its counters are not numbers") from None
    return True


def unreadable_message(uri: str, reason: str, output: str | os.PathLike[str]) -> str:
    """What the command line says about an unreadable state (exit status 3)."""
    return (f"the state at {uri} is unreadable: {reason}; "
            f"rebuild it with `autonews state rebuild --output {output}{_state_arg(uri, output)}`")


def missing_message(uri: str, output: str | os.PathLike[str], files: int) -> str:
    """The warning for a crawl that finds no state while the output holds sealed files."""
    return (f"no dedupe state at {uri}, but {output} already holds {files} sealed file(s): this run fetches "
            f"and writes again every article the sites still list; rebuild the state first with "
            f"`autonews state rebuild --output {output}{_state_arg(uri, output)}`")


def _state_arg(uri: str, output: str | os.PathLike[str]) -> str:
    from pipelines.state.location import resolve_state

    return "" if uri == resolve_state(None, output) else f" --state {uri}"
