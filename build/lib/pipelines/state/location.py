"""Where the dedupe state lives: a SQLite file path, or a ``redis://`` / ``rediss://`` URI.

No heavy imports: the command line resolves the state (and takes its lock) before Scrapy loads.
"""

from __future__ import annotations

from pathlib import Path

STATE_FILE = "state.sqlite3"
"""The SQLite state's file name under the output directory, when ``AUTONEWS_STATE`` is empty."""
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis(uri: str) -> bool:
    """True when the state URI names a Redis server rather than a SQLite file."""
    return uri.startswith(REDIS_SCHEMES)


def resolve_state(state: str | None, output: str | Path | None) -> str:
    """The state URI in force: ``state`` when set, else ``<output>/state.sqlite3`` (output default: ``output``)."""
    return state or str(Path(output or "output") / STATE_FILE)
