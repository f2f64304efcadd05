"""``autonews backfill``: articles of the registry's sources from WARC files (CC-NEWS, any WARC, the
crawl's own archive), through the crawl's pipelines, state, output, run report, lock and exit codes.

Like ``crawl``, the run lock (or a worker's Redis lease, ``--redis``) is taken before Scrapy is
imported. ``--dry-run`` lists the files and their sizes and does nothing else (no lock, no output).
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.cli.crawl import override, run_locked, state_of
from crawler.cli.exitcodes import EXIT_OK, EXIT_USAGE, UsageError, eprint
from crawler.cli.statecheck import check_state_or_exit
from pipelines.state.location import is_redis

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawler.backfill.files import WarcFile


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``backfill`` subcommand's arguments (the caller adds ``-s``, ``-v``, ``--log-file``, ``--progress``)."""
    parser = sub.add_parser(
        "backfill", help="read the registry's articles from WARC files (CC-NEWS, any WARC, the crawl's archive)",
        description="Read WARC files (local, http(s), or CC-NEWS by date) and write the registry's articles "
                    "through the crawl's pipelines (README: Backfill).")
    parser.add_argument("--sources", metavar="FILE", help="registry YAML (default: the bundled crawler/sources/sources.yaml)")
    parser.add_argument("--output", metavar="DIR", help="output directory (default: output)")
    parser.add_argument("--state", metavar="URI", help="dedupe state: a SQLite file (default: OUTPUT/state.sqlite3) "
                        "or redis://HOST:PORT/DB")
    parser.add_argument("--redis", metavar="URL", help="run as a distributed worker: the WARC files are shared "
                        "out on redis://HOST:PORT/DB")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--warc", metavar="PATH_OR_URL", nargs="+", action="extend",
                      help="WARC files: local paths (a directory: every *.warc(.gz) in it) or http(s) URLs")
    what.add_argument("--warc-list", metavar="FILE", help="a file of WARC paths or URLs, one a line")
    what.add_argument("--cc-news", action="store_true", help="Common Crawl's CC-NEWS files of --from..--to")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="with --cc-news: first day")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="with --cc-news: last day (default: today)")
    parser.add_argument("--dry-run", action="store_true", help="print the files and their sizes; read nothing")
    parser.add_argument("--reextract", action="store_true",
                        help="run today's extraction over archived pages; a changed text is written as a new version")
    return parser


def _day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: expected YYYY-MM-DD, got {text!r}") from None


def check_args(args: argparse.Namespace) -> tuple[date | None, date | None]:
    """The --from/--to days; UsageError when they do not fit the chosen input."""
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if args.cc_news:
        if start is None:
            raise UsageError("--cc-news needs --from YYYY-MM-DD")
        end = end or datetime.now(timezone.utc).date()
        if end < start:
            raise UsageError("--to is before --from")
    elif start or end:
        raise UsageError("--from/--to only apply to --cc-news")
    if args.reextract and args.redis:
        raise UsageError("--reextract runs on one machine, not with --redis")
    return start, end


def run(args: argparse.Namespace) -> int:
    """Run one backfill; print the summary; return the exit status."""
    check_args(args)
    # what crawl's shared preparation reads (crawler.cli.crawl.prepare_crawl)
    args.demo, args.source, args.since = False, [], None
    if args.dry_run:
        return dry_run(args)
    state = state_of(args)
    worker = bool(args.redis or override(args, "AUTONEWS_REDIS_URL"))
    if worker or is_redis(state):
        redis_state = args.redis or override(args, "AUTONEWS_REDIS_URL") or state
        status = check_state_or_exit(redis_state, args.output, override(args, "AUTONEWS_REDIS_PREFIX"))
        return status if status is not None else backfill(args)
    return run_locked(args, state, backfill)


def list_files(args: argparse.Namespace, settings: Settings) -> list[WarcFile]:
    """The WARC files the arguments name, in reading order; UsageError or ArchiveError when they cannot be listed."""
    from crawler.backfill.files import cc_news_files, named_files, read_list

    try:
        if args.cc_news:
            start, end = check_args(args)
            assert start is not None and end is not None
            base = (settings.get("AUTONEWS_CC_NEWS_URL") or "").strip()
            if not base.lower().startswith(("http://", "https://")):
                raise UsageError(f"AUTONEWS_CC_NEWS_URL must be an http(s) URL (the root of crawl-data/CC-NEWS/), "
                                 f"not {base!r}")
            missing = []
            files = cc_news_files(archive_client(settings), base, start, end,
                                  on_missing=missing.append)
            for url in missing:
                eprint(f"autonews: warning: no CC-NEWS list at {url} (not published yet?)")
            return files
        return named_files(read_list(args.warc_list) if args.warc_list else list(args.warc))
    except (ValueError, OSError) as exc:
        label = getattr(exc, "label", None)
        if label is None:
            raise UsageError(str(exc)) from None
        raise


def archive_client(settings: Settings) -> object:
    """The guarded HTTP client for lists and HEAD requests, with the backfill's retry settings."""
    from crawler.backfill.http import client_from_settings
    from crawler.security.addresses import AddressPolicy

    return client_from_settings(settings, AddressPolicy.parse(settings.get("AUTONEWS_PRIVATE_HOSTS") or ""))


def dry_run(args: argparse.Namespace) -> int:
    """Print each file with its size (HEAD for a URL), then the total; nothing is read or written."""
    from crawler.backfill.http import ArchiveError
    from crawler.cli.runner import configure_console_logging, project_settings
    from crawler.security.addresses import PolicyError

    settings = project_settings(args.overrides, AUTONEWS_SOURCES=args.sources)
    configure_console_logging(settings, args.verbose, args.log_file)
    try:
        files = list_files(args, settings)
        client = archive_client(settings)
        total = 0
        for wfile in files:
            size = client.size(wfile.location) if wfile.remote else Path(wfile.location).stat().st_size  # type: ignore[attr-defined]
            total += size or 0
            print(f"{wfile.name}\t{'?' if size is None else size}")
    except (ArchiveError, PolicyError, OSError) as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    print(f"{len(files)} file(s), {total} bytes")
    return EXIT_OK


def backfill(args: argparse.Namespace) -> int:
    """The backfill itself, once the run lock is held (or in worker mode).

    Its extraction workers start first, with the command line's settings, and import while Scrapy is
    imported and the crawler built on one core (``pipelines.pool.prestart``); the crawler adopts them when its
    settings ask for the same pool.
    """
    from pipelines.pool import discard_prestarted, prestart

    try:
        prestart(lambda name: override(args, name))
    except ValueError:
        pass  # a malformed pool setting: the crawler's own settings report it
    try:
        return _backfill(args)
    finally:
        discard_prestarted()  # when no crawler adopted it (an error before the spider started)


def _backfill(args: argparse.Namespace) -> int:
    from crawler.backfill.http import ArchiveError
    from crawler.cli.crawl import prepare_crawl
    from crawler.cli.runner import run_spider
    from crawler.extensions.runstatus import exit_status, format_summary

    with prepare_crawl(args) as prepared:
        if isinstance(prepared, int):
            return prepared
        try:
            files = list_files(args, prepared)
        except ArchiveError as exc:
            eprint(f"autonews: error: cannot list the WARC files: {exc}")
            return EXIT_USAGE
        if args.reextract:
            prepared.set("AUTONEWS_SKIP_SEEN", False, priority="cmdline")
        # The WARC files are read by crawler.backfill.http (under the same address policy), never by Scrapy's
        # downloader: its HTTP handler and downloader middlewares are not loaded (their imports and set-up were
        # ~0.3 s of the start, a tenth of a 200 MB month's wall time).
        prepared.set("DOWNLOAD_HANDLERS", {"http": None, "https": None}, priority="cmdline")
        prepared.set("DOWNLOADER_MIDDLEWARES_BASE", {}, priority="cmdline")
        prepared.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
        stats = run_spider("backfill", prepared, files=files, reextract=args.reextract)
    eprint(format_summary(stats))
    return exit_status(stats, prepared.getint("AUTONEWS_HEALTH_EXIT_STATUS"))
