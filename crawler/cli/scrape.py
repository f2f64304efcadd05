"""``autonews scrape``: extract articles from URLs or local .html files once, as JSON Lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, Settings

from crawler.cli.exitcodes import UsageError, eprint
from crawler.cli.runner import configure_console_logging, project_settings, run_spider, wants_progress
from crawler.extensions.runstatus import STOP_SIGNAL, errors_by_class, stopped_by
from crawler.security.addresses import with_hosts
from crawler.spiders.scrape import NOT_ARTICLE_NAMES, local_path, to_url
from pipelines.record import record_fields

STORAGE = "pipelines.storage.pipeline.StoragePipeline"
RECORD = "pipelines.record.RecordPipeline"
#: Targets up to which a scrape extracts in its own process (no pool to start); -s or the environment decide otherwise.
INLINE_UP_TO = 8


def run(args: argparse.Namespace) -> int:
    """Scrape the given URLs/files once; records go to stdout or ``-o``."""
    targets = read_targets(args.targets, args.input)
    settings = scrape_settings(args, targets)
    if wants_progress(args.progress) and settings.getpriority("AUTONEWS_PROGRESS") < SETTINGS_PRIORITIES["cmdline"]:
        settings.set("AUTONEWS_PROGRESS", True, priority="cmdline")
    settings.set("AUTONEWS_PROGRESS_TOTAL", len(targets), priority="cmdline")  # done/total and the ETA
    stats = run_spider("scrape", settings, urls=targets)
    eprint(scrape_summary(stats, len(targets)))
    if stopped_by(stats):
        return 128 + int(stats[STOP_SIGNAL])
    return 0 if stats.get("autonews/written", 0) >= len(targets) else 1


def scrape_summary(stats: dict[str, Any], targets: int) -> str:
    """The one summary line: ``autonews: 2 of 3 page(s) gave an article; not articles: 1 (about.html)``,
    with the errors by class when there are any."""
    line = f"autonews: {stats.get('autonews/written', 0)} of {targets} page(s) gave an article"
    not_articles = stats.get("autonews/not_article", 0)
    if not_articles:
        names = list(stats.get(NOT_ARTICLE_NAMES) or [])
        more = ", …" if len(names) < not_articles else ""
        line += f"; not articles: {not_articles}" + (f" ({', '.join(names)}{more})" if names else "")
    errors = errors_by_class(stats)
    if errors:
        line += f"; errors: {stats.get('autonews/errors/total', 0)} ({errors})"
    return line


def read_targets(targets: list[str], input_file: str | None) -> list[str]:
    """Return the URLs/paths from the command line and ``--input`` (blank lines and # comments skipped)."""
    found = list(targets)
    if input_file:
        fh = sys.stdin if input_file == "-" else open(input_file, encoding="utf-8")
        with fh:
            found += [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    if not found:
        raise UsageError("scrape needs at least one URL or file (or --input FILE)")
    for target in found:
        try:
            to_url(target)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return found


def target_hosts(targets: list[str]) -> list[str]:
    """The hosts of the URLs among ``targets``: the operator named them, so they may be fetched
    even when not public (a page or a redirect still cannot lead to any other private address)."""
    hosts = {urlsplit(t).hostname or "" for t in targets if local_path(t) is None}
    return sorted(h for h in hosts if h)


def scrape_settings(args: argparse.Namespace, targets: list[str] = ()) -> Settings:
    """Settings for a one-off scrape: no stored state, records to stdout or ``-o`` through a feed export.

    The record stage takes sealed storage's place at the end of the pipelines; the hosts of
    the given URLs join ``AUTONEWS_PRIVATE_HOSTS``.
    """
    feed = {"format": "jsonlines", "fields": record_fields(), "encoding": "utf-8"}
    if args.output:  # stdout cannot be overwritten, and Scrapy warns when asked to
        feed["overwrite"] = True
    uri = Path(args.output).resolve().as_uri() if args.output else "stdout:"
    settings = project_settings(
        args.overrides,
        AUTONEWS_STATE=":memory:",
        AUTONEWS_SKIP_SEEN=False,
        AUTONEWS_RUN_REPORT=False,
        FEEDS={uri: feed},
    )
    # One-off fetches: nothing to revalidate next time (and no scrapy.cfg to place a cache beside).
    if settings.getpriority("HTTPCACHE_ENABLED") < SETTINGS_PRIORITIES["cmdline"]:
        settings.set("HTTPCACHE_ENABLED", False, priority="cmdline")
    # A few pages are extracted faster in this process than a process pool starts (each worker
    # imports trafilatura and the language profiles: about a second, more on a busy machine).
    if len(targets) <= INLINE_UP_TO and settings.getpriority("AUTONEWS_POOL_PROCESSES") <= SETTINGS_PRIORITIES["project"]:
        settings.set("AUTONEWS_POOL_PROCESSES", 0, priority="cmdline")
    allowed = with_hosts(settings.get("AUTONEWS_PRIVATE_HOSTS") or "", target_hosts(list(targets)))
    settings.set("AUTONEWS_PRIVATE_HOSTS", allowed, priority="cmdline")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines[RECORD] = pipelines.pop(STORAGE)
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    settings.set("AUTOTHROTTLE_ENABLED", False, priority="default")
    configure_console_logging(settings, args.verbose, args.log_file, quiet="WARNING")
    return settings
