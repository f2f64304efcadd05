"""``autonews state stats|prune|rebuild``: inspect, prune or rebuild the dedupe state, SQLite file or Redis."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from crawler.ages import parse_age
from crawler.cli.exitcodes import EXIT_FAILED, EXIT_LOCKED, EXIT_USAGE, UsageError, eprint
from crawler.cli.lock import LockedError, RunLock
from pipelines.state.backend import prune_state, state_stats
from pipelines.state.location import is_redis, resolve_state

if TYPE_CHECKING:
    from pipelines.state.rebuild import RebuildSummary


def run(args: argparse.Namespace) -> int:
    """Print state statistics or prune entries first seen before ``--older-than``."""
    if args.action == "rebuild":
        return rebuild(args)
    uri = resolve_state(args.state, args.output)
    options = {"prefix": args.prefix} if args.prefix else {}
    if args.action == "prune" and not args.older_than:
        raise UsageError("state prune needs --older-than AGE (e.g. 90d): how old an entry must be to go")
    try:
        older_than = parse_age(args.older_than) if args.older_than else None
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    try:
        if args.action == "stats":
            print(json.dumps(state_stats(uri, **options), indent=2))
        else:
            print(json.dumps({"pruned": prune_state(uri, older_than, **options)}))
    except FileNotFoundError:
        eprint(f"autonews: no state at {uri}")
        return EXIT_USAGE
    except RedisError as exc:
        eprint(f"autonews: error: cannot use Redis: {exc}")
        return EXIT_FAILED
    return 0


def rebuild(args: argparse.Namespace) -> int:
    """``state rebuild``: a fresh state from the sealed files, switched in at once, under the crawl's lock."""
    from pipelines.state.readable import StateUnavailable
    from pipelines.state.rebuild import StateExists, rebuild as rebuild_state
    from pipelines.storage.manifest import ManifestError

    uri = resolve_state(args.state, args.output)
    root = Path(args.output or "output")
    if not root.is_dir():
        eprint(f"autonews: error: no output directory at {root}")
        return EXIT_USAGE
    # as crawl's --progress (crawler.cli.runner.wants_progress, not imported: it loads Scrapy)
    progress = progress_printer() if args.progress or sys.stderr.isatty() else None
    try:
        with rebuild_lock(uri, args.prefix):
            summary = rebuild_state(uri, root, prefix=args.prefix, force=args.force, progress=progress)
    except LockedError as exc:
        eprint(f"autonews: {exc}; exiting (status {EXIT_LOCKED})")
        return EXIT_LOCKED
    except StateExists as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    except ManifestError as exc:
        eprint(f"autonews: error: cannot read the manifest: {exc}; the state was not changed")
        return EXIT_FAILED
    except (RedisError, StateUnavailable) as exc:
        eprint(f"autonews: error: cannot use Redis: {exc}")
        return EXIT_FAILED
    except OSError as exc:
        eprint(f"autonews: error: {exc}; the state was not changed")
        return EXIT_FAILED
    for line in summary.lines():
        eprint(f"autonews: {line}")
    return EXIT_FAILED if summary.skipped else 0


@contextlib.contextmanager
def rebuild_lock(uri: str, prefix: str | None) -> Iterator[None]:
    """Hold what keeps crawls off the state while it is rebuilt: the crawl's run lock for SQLite; for
    Redis, a lease no other rebuild can take, and only while no worker is alive."""
    if not is_redis(uri):
        with RunLock(uri):
            yield
        return
    import redis

    from crawler.distributed.lease import RedisRunLock
    from pipelines.state.redis_keys import DEFAULT_PREFIX, RedisKeys
    from pipelines.state.redis_store import RedisStore

    keys = RedisKeys(prefix or DEFAULT_PREFIX)
    client = redis.Redis.from_url(uri, socket_timeout=30, socket_connect_timeout=10)
    try:
        live = RedisStore(uri, prefix=keys.prefix, client=client).live_instances()
        if live:
            raise LockedError(f"worker(s) {', '.join(sorted(live))} are crawling on this state")
        with RedisRunLock(client, keys.lock("state-rebuild"), f"rebuild-{os.getpid()}", REBUILD_LEASE):
            yield
    finally:
        client.close()


REBUILD_LEASE = 6 * 3600.0
"""Seconds the Redis rebuild lease lasts (released at the end; a killed rebuild's expires)."""


def progress_printer(interval: float = 2.0) -> Callable[[RebuildSummary], None]:
    """A progress callback printing at most one line every ``interval`` seconds to stderr."""
    last = [0.0]

    def show(summary: RebuildSummary) -> None:
        now = time.monotonic()
        if now - last[0] >= interval:
            last[0] = now
            eprint(f"autonews: rebuild: files {summary.files + len(summary.skipped)}/{summary.total_files}, "
                   f"records {summary.records}, skipped files {len(summary.skipped)}")

    return show
