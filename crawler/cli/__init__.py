"""The ``autonews`` command line: one module per subcommand (crawl, scrape, seed, state, report, read).

Only the argument parser lives here. A subcommand's module is imported when it is chosen, and
``crawl`` takes its run lock before anything imports Scrapy, so an overlapping cron run exits
at once (crawler/cli/crawl.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from crawler.cli.exitcodes import EXIT_USAGE, UsageError, eprint


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="autonews", description="Clean auto-industry news as sealed JSON Lines.")
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl the source registry (what cron runs)",
                           description="Crawl the registry and write new articles under OUTPUT/articles/<date>/*.jsonl.")
    crawl.add_argument("--sources", metavar="FILE", help="registry YAML (default: the bundled crawler/sources.yaml)")
    crawl.add_argument("--source", metavar="NAME", action="append", default=[], help="crawl only this source (repeatable)")
    crawl.add_argument("--output", metavar="DIR", help="output directory (default: output)")
    crawl.add_argument("--state", metavar="URI", help="dedupe state: a SQLite file (default: OUTPUT/state.sqlite3) "
                       "or redis://HOST:PORT/DB")
    crawl.add_argument("--since", metavar="AGE", help="skip feed/sitemap entries dated before AGE ago (e.g. 7d, 12h)")
    crawl.add_argument("--demo", action="store_true", help="serve the bundled offline demo site on 127.0.0.1 and crawl it")
    crawl.add_argument("--redis", metavar="URL", help="run as a distributed worker on redis://HOST:PORT/DB (README: Distributed crawling)")
    _common(crawl)
    _progress(crawl)

    scrape = sub.add_parser("scrape", help="extract articles from URLs or local .html files to JSON Lines",
                            description="Fetch each URL (or read each .html file) once and print its article record.")
    scrape.add_argument("targets", nargs="*", metavar="URL_OR_FILE")
    scrape.add_argument("--input", metavar="FILE", help="read more URLs/paths from FILE, one per line ('-' for stdin)")
    scrape.add_argument("-o", "--output", metavar="FILE", help="write records to FILE instead of stdout")
    _common(scrape)
    _progress(scrape)

    seed = sub.add_parser("seed", help="start a distributed round: enqueue the registry on Redis",
                          description="Enqueue the registry's feeds, sitemaps and section pages for the workers on --redis.")
    seed.add_argument("--redis", metavar="URL", help="redis://HOST:PORT/DB shared by the workers")
    seed.add_argument("--sources", metavar="FILE", help="registry YAML (default: the bundled crawler/sources.yaml)")
    seed.add_argument("--source", metavar="NAME", action="append", default=[], help="seed only this source (repeatable)")
    _common(seed)

    report = sub.add_parser("report", help="write an HTML report of the recent runs (health, charts)",
                            description="Write one self-contained HTML file (no network needed to open it) from "
                                        "the run reports under OUTPUT/runs: per-source health, articles, errors, "
                                        "languages and field coverage over time.")
    report.add_argument("--output", metavar="DIR", help="output directory of the crawls (default: output)")
    report.add_argument("-o", dest="file", metavar="FILE", help="HTML file to write (default: OUTPUT/report.html)")
    report.add_argument("--days", type=int, default=7, metavar="N", help="runs of the last N days (default: 7)")

    state = sub.add_parser("state", help="inspect or prune the dedupe state (SQLite file or Redis)")
    state.add_argument("action", choices=["stats", "prune"])
    state.add_argument("--state", metavar="URI", help="a SQLite file or redis://HOST:PORT/DB (default: OUTPUT/state.sqlite3)")
    state.add_argument("--output", metavar="DIR", help="output directory whose state.sqlite3 is meant (default: output)")
    state.add_argument("--prefix", metavar="PREFIX", help="Redis key prefix (default: AUTONEWS_REDIS_PREFIX)")
    state.add_argument("--older-than", metavar="AGE", default="90d", help="prune entries first seen before AGE (e.g. 90d, 12h)")
    read = sub.add_parser("read", help="print a consumer's unacknowledged records (README: Reading the output)",
                          usage="autonews read [-h] --consumer NAME [--output DIR] [-o FILE] [--ack SEQ]",
                          description="Write every record of the sealed files after the consumer's committed position "
                                      "as JSON Lines and name (on stderr) the manifest seq delivered through; "
                                      "--ack SEQ commits through that seq. One reader per consumer name at a time.")
    read.add_argument("--consumer", metavar="NAME", required=True, help="consumer name, [A-Za-z0-9._-]+")
    read.add_argument("--output", metavar="DIR", help="output directory of the crawls (default: output)")
    read.add_argument("-o", dest="out", metavar="FILE", help="write the records to FILE instead of stdout")
    # nargs="?" so that a bare --ack (the old form) reaches read.py, which names the new one
    read.add_argument("--ack", metavar="SEQ", nargs="?", const="bare",
                      help="commit through manifest seq SEQ, the one the read named (required: a bare --ack "
                           "is refused); print nothing")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override a Scrapy/autonews setting (repeatable), as with scrapy crawl -s")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log INFO (-v) or DEBUG (-vv) to stderr")
    parser.add_argument("--log-file", metavar="FILE", help="write the full log (INFO) to FILE")


def _progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="print a progress line to stderr every few seconds (default: only when stderr is a terminal)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autonews`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    command = importlib.import_module(f"crawler.cli.{args.command}")
    try:
        return command.run(args)
    except UsageError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
