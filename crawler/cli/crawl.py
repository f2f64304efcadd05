"""``autonews crawl``: one crawl of the registry, as cron runs it.

The run lock is taken first, before Scrapy is imported (the imports below it are deferred on
purpose), so an overlapping cron run exits with 75 in a few milliseconds. A distributed worker
(``--redis``) holds a Redis lease instead (``crawler.distributed.lease``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.ages import parse_age
from crawler.cli.exitcodes import EXIT_LOCKED, EXIT_OUTPUT, EXIT_USAGE, UsageError, eprint
from crawler.cli.lock import LockedError, RunLock
from crawler.cli.overrides import environment_settings, parse_overrides
from crawler.cli.statecheck import check_state_or_exit
from crawler.demo import SOURCES_FILE as DEMO_SOURCES
from pipelines.state.location import is_redis, resolve_state
from pipelines.storage.safefs import touch_probe

if TYPE_CHECKING:
    from scrapy.settings import Settings

#: Settings for the loopback demo: no politeness delays against our own server.
DEMO_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def override(args: argparse.Namespace, key: str) -> str | None:
    """The last ``-s KEY=VALUE`` given for ``key``, or None."""
    for item in reversed(args.overrides):
        name, _, value = item.partition("=")
        if name.strip() == key and value:
            return value
    return None


def given(args: argparse.Namespace, key: str, option: str | None) -> str | None:
    """A setting the crawl needs before its settings exist, with the precedence of ``crawler.cli.runner``:
    ``-s KEY=...``, then the command-line ``option``, then the environment."""
    return override(args, key) or option or os.environ.get(key) or None


def output_of(args: argparse.Namespace) -> Path:
    """The output directory: ``-s AUTONEWS_OUTPUT_DIR``, ``--output``, the environment, or ``output``."""
    return Path(given(args, "AUTONEWS_OUTPUT_DIR", args.output) or "output")


def state_of(args: argparse.Namespace) -> str:
    """The state a crawl will use: ``-s AUTONEWS_STATE=...``, ``--state``, the environment's
    ``AUTONEWS_STATE``, or ``<output>/state.sqlite3``."""
    return resolve_state(given(args, "AUTONEWS_STATE", args.state), str(output_of(args)))


def run(args: argparse.Namespace) -> int:
    """Run one crawl of the registry; print the summary; return the exit status."""
    if args.since:
        try:
            parse_age(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    # Names and values of -s and AUTONEWS_* checked first: a typo is refused before the lock or output exist.
    parse_overrides(args.overrides)
    environment_settings()
    state = state_of(args)
    worker = bool(given(args, "AUTONEWS_REDIS_URL", args.redis))
    if worker or is_redis(state):
        redis_state = args.redis or override(args, "AUTONEWS_REDIS_URL") or state
        status = check_state_or_exit(redis_state, args.output, override(args, "AUTONEWS_REDIS_PREFIX"))
        # the Redis lease is taken once the settings are known
        return status if status is not None else crawl(args)
    return run_locked(args, state, crawl)


def run_locked(args: argparse.Namespace, state: str, work: Callable[[argparse.Namespace], int]) -> int:
    """``work(args)`` holding the SQLite state's run lock, once the state is found readable.

    75 when another run holds the lock, 3 when it cannot be taken (the output is not writable) or the state
    is unreadable (the message names ``autonews state rebuild``). Shared by ``crawl`` and ``backfill``.
    """
    lock = RunLock(state)
    try:
        lock.acquire()
    except LockedError as exc:
        eprint(f"autonews: {exc}; exiting (status {EXIT_LOCKED})")
        return EXIT_LOCKED
    except OSError as exc:
        eprint(f"autonews: error: output not writable: {exc}")
        return EXIT_OUTPUT
    try:
        status = check_state_or_exit(state, args.output)  # behind the lock: no crawl is writing it
        return status if status is not None else work(args)
    finally:
        lock.release()


def crawl(args: argparse.Namespace) -> int:
    """The crawl itself, once the run lock is held."""
    # Scrapy and everything that imports it load only now, behind the lock (see the module docstring)
    from crawler.cli.runner import run_spider
    from crawler.extensions.runstatus import exit_status, format_summary

    with prepare_crawl(args) as prepared:
        if isinstance(prepared, int):
            return prepared
        stats = run_spider("news", prepared)
    eprint(format_summary(stats))
    if stats.get("autonews/distributed/round_summary"):  # distributed worker: the round's totals so far
        eprint(stats["autonews/distributed/round_summary"])
    return exit_status(stats, prepared.getint("AUTONEWS_HEALTH_EXIT_STATUS"))


def writable_dir(path: Path) -> str | None:
    """Return why ``path`` cannot hold output, or None when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        # a fresh O_EXCL|O_NOFOLLOW name: a link planted at a predictable probe name truncates nothing
        touch_probe(path, ".autonews-probe")
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def state_links(state: str) -> str | None:
    """Return why the SQLite state file cannot be opened safely (a planted link), or None."""
    if not state or is_redis(state):
        return None
    from pipelines.state.sqlite_store import refuse_links  # behind the lock, like Scrapy

    try:
        refuse_links(state)
    except OSError as exc:
        return f"{exc.filename}: {exc.strerror}"
    return None


@contextlib.contextmanager
def prepare_crawl(args: argparse.Namespace) -> Iterator[Settings | int]:
    """Build the crawl's settings, check the output and the registry, serve the demo site (``--demo``)
    and take a worker's Redis lease (``--redis``); the caller holds the run lock.

    Yields the crawl settings, or an exit status when the crawl must not start.
    """
    # behind the lock, like every Scrapy import of this module
    from crawler.cli.runner import configure_console_logging, project_settings, wants_progress
    from crawler.security.addresses import AddressPolicy, PolicyError
    from crawler.security.names import check_path_names
    from crawler.sources.configured import configured_sources
    from crawler.sources.registry import SourceError

    output = output_of(args)
    settings = project_settings(
        args.overrides,
        AUTONEWS_OUTPUT_DIR=str(output),
        AUTONEWS_STATE=args.state,
        AUTONEWS_SOURCE_NAMES=args.source or None,
        AUTONEWS_SOURCES=args.sources,
        AUTONEWS_SINCE=args.since,
        AUTONEWS_REDIS_URL=args.redis,
        AUTONEWS_PROGRESS=wants_progress(args.progress) or None,
        HTTPCACHE_DIR=str((output / ".httpcache").resolve()),
    )
    configure_console_logging(settings, args.verbose, args.log_file)
    problem = writable_dir(output) or state_links(state_of(args))
    if problem:
        eprint(f"autonews: error: output not writable: {problem}")
        yield EXIT_OUTPUT
        return
    with contextlib.ExitStack() as stack:
        if args.demo:
            from crawler.demo.server import DemoServer  # only a demo crawl needs it
            from crawler.security.addresses import with_hosts

            # A fixed port keeps demo URLs stable, so a second run sees its articles as stored.
            port = settings.getint("AUTONEWS_DEMO_PORT")
            try:
                server = stack.enter_context(DemoServer(port=port))
            except OSError as exc:
                eprint(f"autonews: error: cannot serve the demo on 127.0.0.1:{port} ({exc.strerror}); "
                       "pick another port with -s AUTONEWS_DEMO_PORT=N")
                yield EXIT_USAGE
                return
            settings.set("AUTONEWS_SOURCES", str(DEMO_SOURCES), priority="cmdline")
            settings.set("AUTONEWS_SUBSTITUTIONS", {"{{BASE}}": server.base_url}, priority="cmdline")
            # The demo site is on loopback: allowed explicitly, as nothing else non-public is.
            allowed = with_hosts(settings.get("AUTONEWS_PRIVATE_HOSTS") or "", [server.host])
            settings.set("AUTONEWS_PRIVATE_HOSTS", allowed, priority="cmdline")
            for key, value in DEMO_SETTINGS.items():
                if settings.getpriority(key) < 40:
                    settings.set(key, value, priority="cmdline")
        try:
            configured_sources(settings)
            AddressPolicy.parse(settings.get("AUTONEWS_PRIVATE_HOSTS") or "")
            check_path_names(settings)
        except (SourceError, PolicyError, OSError, ValueError) as exc:
            eprint(f"autonews: error: {exc}")
            yield EXIT_USAGE
            return
        if settings.get("AUTONEWS_REDIS_URL"):
            from crawler.distributed.lease import hold_worker_lease  # the redis client: worker mode only

            status = hold_worker_lease(settings, stack)
            if status is not None:
                yield status
                return
        yield settings
