"""``autonews seed --redis URL``: start a distributed round by enqueuing the registry for the workers.

The worker add-on (``crawler.distributed.addon``) in seed-only mode: the news spider's start
requests go into the shared queue and nothing is crawled here.
"""

from __future__ import annotations

import argparse

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_USAGE, eprint
from crawler.cli.runner import configure_console_logging, project_settings, run_spider
from crawler.sources.configured import configured_sources
from crawler.sources.registry import SourceError


def run(args: argparse.Namespace) -> int:
    """Start a new round by enqueuing the registry; print what was seeded."""
    settings = project_settings(args.overrides, AUTONEWS_REDIS_URL=args.redis, AUTONEWS_SOURCES=args.sources,
                                AUTONEWS_SOURCE_NAMES=args.source or None, AUTONEWS_REDIS_SEED_ONLY=True)
    if not settings.get("AUTONEWS_REDIS_URL"):
        eprint("autonews: error: seed needs --redis URL (or -s AUTONEWS_REDIS_URL=...)")
        return EXIT_USAGE
    configure_console_logging(settings, args.verbose, args.log_file)
    try:
        configured_sources(settings)
    except (SourceError, OSError) as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    stats = run_spider("news", settings)
    seeded = stats.get("autonews/distributed/seeded", 0)
    if not seeded or stats.get("finish_reason") != "finished":
        eprint(f"autonews: seeding failed (finish reason: {stats.get('finish_reason')}, seeded: {seeded})")
        return EXIT_FAILED
    eprint(f"autonews: seeded {seeded} discovery request(s), round {stats.get('autonews/distributed/round')}")
    return 0
