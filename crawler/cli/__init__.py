"""The ``autonews`` command line: crawl, scrape, state."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.exitcodes import EXIT_LOCKED, EXIT_OUTPUT, EXIT_USAGE, UsageError, eprint
from crawler.cli.lock import LockedError, RunLock


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="autonews", description="Clean auto-industry news as sealed JSON Lines.")
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl the source registry (what cron runs)",
                           description="Crawl the registry and write new articles under OUTPUT/articles/<date>/*.jsonl.")
    crawl.add_argument("--sources", metavar="FILE", help="registry YAML (default: the bundled crawler/sources.yaml)")
    crawl.add_argument("--source", metavar="NAME", action="append", default=[], help="crawl only this source (repeatable)")
    crawl.add_argument("--output", metavar="DIR", help="output directory (default: output)")
    crawl.add_argument("--state", metavar="FILE", help="dedupe state file (default: OUTPUT/state.sqlite3)")
    crawl.add_argument("--since", metavar="AGE", help="skip feed/sitemap entries dated before AGE ago (e.g. 7d, 12h)")
    crawl.add_argument("--demo", action="store_true", help="serve the bundled offline demo site on 127.0.0.1 and crawl it")
    crawl.add_argument("--redis", metavar="URL", help="run as a distributed worker on redis://HOST:PORT/DB (docs/distributed.md)")
    _common(crawl)

    scrape = sub.add_parser("scrape", help="extract articles from URLs or local .html files to JSON Lines",
                            description="Fetch each URL (or read each .html file) once and print its article record.")
    scrape.add_argument("targets", nargs="*", metavar="URL_OR_FILE")
    scrape.add_argument("--input", metavar="FILE", help="read more URLs/paths from FILE, one per line ('-' for stdin)")
    scrape.add_argument("-o", "--output", metavar="FILE", help="write records to FILE instead of stdout")
    _common(scrape)

    seed = sub.add_parser("seed", help="start a distributed round: enqueue the registry on Redis",
                          description="Enqueue the registry's feeds, sitemaps and section pages for the workers on --redis.")
    seed.add_argument("--redis", metavar="URL", help="redis://HOST:PORT/DB shared by the workers")
    seed.add_argument("--sources", metavar="FILE", help="registry YAML (default: the bundled crawler/sources.yaml)")
    seed.add_argument("--source", metavar="NAME", action="append", default=[], help="seed only this source (repeatable)")
    _common(seed)

    state = sub.add_parser("state", help="inspect or prune the dedupe state")
    state.add_argument("action", choices=["stats", "prune"])
    state.add_argument("--state", metavar="FILE", default="output/state.sqlite3")
    state.add_argument("--older-than", metavar="AGE", default="90d", help="prune entries first seen before AGE (e.g. 90d, 12h)")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override a Scrapy/autonews setting (repeatable), as with scrapy crawl -s")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log INFO (-v) or DEBUG (-vv) to stderr")
    parser.add_argument("--log-file", metavar="FILE", help="write the full log (INFO) to FILE")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autonews`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "crawl":
            return cmd_crawl(args)
        if args.command == "scrape":
            return cmd_scrape(args)
        if args.command == "seed":
            from crawler.distributed.rounds import cmd_seed

            return cmd_seed(args)
        return cmd_state(args)
    except UsageError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE


def state_path(args: argparse.Namespace) -> str:
    """The state file a crawl will use (``--state``, ``-s AUTONEWS_STATE=...``, or under ``--output``)."""
    for override in reversed(args.overrides):
        key, _, value = override.partition("=")
        if key.strip() == "AUTONEWS_STATE" and value:
            return value
    return args.state or str(Path(args.output or "output") / "state.sqlite3")


def cmd_crawl(args: argparse.Namespace) -> int:
    """Run one crawl of the registry; print the summary; return the exit status."""
    lock = RunLock(state_path(args))
    if not getattr(args, "redis", None):  # workers take a Redis lease instead (crawler/distributed.py)
        # First thing, before Scrapy is even imported: an overlapping cron run exits at once.
        try:
            lock.acquire()
        except LockedError as exc:
            eprint(f"autonews: {exc}; exiting (status {EXIT_LOCKED})")
            return EXIT_LOCKED
        except OSError as exc:
            eprint(f"autonews: error: output not writable: {exc}")
            return EXIT_OUTPUT
    try:
        return run_crawl(args)
    finally:
        lock.release()


def run_crawl(args: argparse.Namespace) -> int:
    """The crawl itself, once the run lock is held."""
    from crawler.cli.crawl import prepare_crawl
    from crawler.extensions.runstatus import exit_status, format_summary

    with prepare_crawl(args) as prepared:
        if isinstance(prepared, int):
            return prepared
        from crawler.cli.runner import run_spider

        stats = run_spider("news", prepared)
    eprint(format_summary(stats))
    if stats.get("autonews/distributed/round_summary"):  # distributed worker: the round's totals so far
        eprint(stats["autonews/distributed/round_summary"])
    return exit_status(stats)


def cmd_scrape(args: argparse.Namespace) -> int:
    """Scrape the given URLs/files once; records go to stdout or ``-o``."""
    from crawler.cli.crawl import scrape_settings, read_targets
    from crawler.cli.runner import run_spider

    targets = read_targets(args.targets, args.input)
    settings = scrape_settings(args)
    stats = run_spider("scrape", settings, urls=targets)
    written = stats.get("item_scraped_count", 0)
    if written < len(targets):
        eprint(f"autonews: {written} of {len(targets)} page(s) gave an article "
               f"(not articles: {stats.get('autonews/not_article', 0)}, errors: {stats.get('autonews/errors/total', 0)})")
        return 1
    return 0


def cmd_state(args: argparse.Namespace) -> int:
    """Print state statistics or prune old entries."""
    import json

    from pipelines.state.store import parse_age, prune_state, state_stats

    if not Path(args.state).exists():
        eprint(f"autonews: no state at {args.state}")
        return EXIT_USAGE
    if args.action == "stats":
        print(json.dumps(state_stats(args.state), indent=2))
    else:
        removed = prune_state(args.state, parse_age(args.older_than))
        print(json.dumps({"pruned": removed}))
    return 0



if __name__ == "__main__":
    sys.exit(main())
