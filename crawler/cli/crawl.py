"""What ``autonews crawl`` and ``autonews scrape`` set up before Scrapy starts."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from scrapy.settings import Settings

from crawler.demo import SOURCES_FILE as DEMO_SOURCES
from crawler.cli.exitcodes import EXIT_OUTPUT, EXIT_USAGE, UsageError, eprint
from crawler.cli.runner import configure_console_logging, project_settings
from crawler.sources.registry import DEFAULT_SOURCES, SourceError, load_sources
from pipelines.state.store import parse_age


#: Settings for the loopback demo: no politeness delays against our own server.
DEMO_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def writable_dir(path: Path) -> str | None:
    """Return why ``path`` cannot hold output, or None when it can."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".autonews-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


@contextlib.contextmanager
def prepare_crawl(args: argparse.Namespace) -> Iterator[Settings | int]:
    """Validate arguments and (with --demo) serve the demo site; the caller holds the run lock.

    Yields the crawl settings, or an exit status when the crawl must not start.
    """
    output = Path(args.output or "output")
    state = args.state or str(output / "state.sqlite3")
    if args.since:
        try:
            parse_age(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
    settings = project_settings(
        args.overrides,
        AUTONEWS_OUTPUT_DIR=str(output),
        AUTONEWS_STATE=state,
        AUTONEWS_SOURCE_NAMES=args.source or None,
        AUTONEWS_SOURCES=args.sources,
        AUTONEWS_SINCE=args.since,
        HTTPCACHE_DIR=str((output / ".httpcache").resolve()),
    )
    if getattr(args, "redis", None):  # distributed worker (crawler/distributed.py)
        settings.set("AUTONEWS_REDIS_URL", args.redis, priority="cmdline")
    configure_console_logging(settings, args.verbose, args.log_file)
    problem = writable_dir(output)
    if problem:
        eprint(f"autonews: error: output not writable: {problem}")
        yield EXIT_OUTPUT
        return
    with contextlib.ExitStack() as stack:
        if args.demo:
            from crawler.demo.server import DemoServer

            # A fixed port keeps demo URLs stable, so a second run sees its articles as stored.
            port = settings.getint("AUTONEWS_DEMO_PORT", 8765)
            try:
                server = stack.enter_context(DemoServer(port=port))
            except OSError as exc:
                eprint(f"autonews: error: cannot serve the demo on 127.0.0.1:{port} ({exc.strerror}); "
                       "pick another port with -s AUTONEWS_DEMO_PORT=N")
                yield EXIT_USAGE
                return
            settings.set("AUTONEWS_SOURCES", str(DEMO_SOURCES), priority="cmdline")
            settings.set("AUTONEWS_SUBSTITUTIONS", {"{{BASE}}": server.base_url}, priority="cmdline")
            for key, value in DEMO_SETTINGS.items():
                if settings.getpriority(key) < 40:
                    settings.set(key, value, priority="cmdline")
        try:
            load_sources(settings.get("AUTONEWS_SOURCES") or DEFAULT_SOURCES,
                         names=settings.getlist("AUTONEWS_SOURCE_NAMES"),
                         substitutions=settings.getdict("AUTONEWS_SUBSTITUTIONS") or None)
        except (SourceError, OSError) as exc:
            eprint(f"autonews: error: {exc}")
            yield EXIT_USAGE
            return
        if settings.get("AUTONEWS_REDIS_URL"):  # distributed worker: a Redis lease instead of the state file lock
            from crawler.distributed.addon import enter_worker

            status = enter_worker(settings, stack)
            yield settings if status is None else status
            return
        yield settings


def read_targets(targets: list[str], input_file: str | None) -> list[str]:
    """Return the URLs/paths from the command line and ``--input`` (blank lines and # comments skipped)."""
    found = list(targets)
    if input_file:
        fh = sys.stdin if input_file == "-" else open(input_file, encoding="utf-8")
        with fh:
            found += [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    if not found:
        raise UsageError("scrape needs at least one URL or file (or --input FILE)")
    from crawler.spiders.scrape import to_url

    for target in found:
        try:
            to_url(target)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return found


def scrape_settings(args: argparse.Namespace) -> Settings:
    """Settings for a one-off scrape: no stored state, records to stdout or ``-o``."""
    from pipelines.record import record_fields

    uri = Path(args.output).resolve().as_uri() if args.output else "stdout:"
    settings = project_settings(
        args.overrides,
        AUTONEWS_STATE=":memory:",
        AUTONEWS_SKIP_SEEN=False,
        AUTONEWS_RUN_REPORT=False,
        FEEDS={uri: {"format": "jsonlines", "fields": record_fields(), "overwrite": True, "encoding": "utf-8"}},
    )
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines.pop("pipelines.storage.pipeline.StoragePipeline", None)
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    settings.set("AUTOTHROTTLE_ENABLED", False, priority="default")
    configure_console_logging(settings, args.verbose, args.log_file, quiet="WARNING")
    return settings
