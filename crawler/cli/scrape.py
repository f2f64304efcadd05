"""``autonews scrape``: extract articles from URLs or local .html files once, as JSON Lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES, Settings

from crawler.cli.exitcodes import UsageError, eprint
from crawler.cli.runner import configure_console_logging, project_settings, run_spider, wants_progress
from crawler.security.addresses import with_hosts
from crawler.spiders.scrape import local_path, to_url
from pipelines.record import record_fields

STORAGE = "pipelines.storage.pipeline.StoragePipeline"
RECORD = "pipelines.record.RecordPipeline"


def run(args: argparse.Namespace) -> int:
    """Scrape the given URLs/files once; records go to stdout or ``-o``."""
    targets = read_targets(args.targets, args.input)
    settings = scrape_settings(args, targets)
    if wants_progress(args.progress) and settings.getpriority("AUTONEWS_PROGRESS") < SETTINGS_PRIORITIES["cmdline"]:
        settings.set("AUTONEWS_PROGRESS", True, priority="cmdline")
    settings.set("AUTONEWS_PROGRESS_TOTAL", len(targets), priority="cmdline")  # done/total and the ETA
    stats = run_spider("scrape", settings, urls=targets)
    written = stats.get("autonews/written", 0)
    if written < len(targets):
        eprint(f"autonews: {written} of {len(targets)} page(s) gave an article "
               f"(not articles: {stats.get('autonews/not_article', 0)}, errors: {stats.get('autonews/errors/total', 0)})")
        return 1
    return 0


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
    uri = Path(args.output).resolve().as_uri() if args.output else "stdout:"
    settings = project_settings(
        args.overrides,
        AUTONEWS_STATE=":memory:",
        AUTONEWS_SKIP_SEEN=False,
        AUTONEWS_RUN_REPORT=False,
        FEEDS={uri: {"format": "jsonlines", "fields": record_fields(), "overwrite": True, "encoding": "utf-8"}},
    )
    allowed = with_hosts(settings.get("AUTONEWS_PRIVATE_HOSTS") or "", target_hosts(list(targets)))
    settings.set("AUTONEWS_PRIVATE_HOSTS", allowed, priority="cmdline")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    pipelines[RECORD] = pipelines.pop(STORAGE)
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    settings.set("AUTOTHROTTLE_ENABLED", False, priority="default")
    configure_console_logging(settings, args.verbose, args.log_file, quiet="WARNING")
    return settings
