"""Run a spider in this process and return its stats (used by the CLI)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.project import get_project_settings

from crawler.cli.overrides import ENVIRONMENT_PRIORITY, environment_settings, parse_overrides
from crawler.extensions.runstatus import STOP_SIGNAL
from crawler.security.logs import install_log_redaction


def project_settings(overrides: Iterable[str] = (), **values: Any) -> Settings:
    """Return the project settings with the environment's ``AUTONEWS_*``, ``values`` and ``-s KEY=VALUE``
    applied; every command that takes settings builds them here (``crawler.cli.overrides``).

    Precedence: ``-s`` > the command's own options (``values``) > environment > defaults, as with
    ``scrapy crawl -s``. An unknown ``AUTONEWS_*`` name or a value of the wrong type is a UsageError.
    """
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    given = parse_overrides(overrides)  # checked first: a typo fails before anything else happens
    settings = get_project_settings()
    for key, value in environment_settings().items():
        settings.set(key, value, priority=ENVIRONMENT_PRIORITY)
    for key, value in values.items():
        if value is not None:
            settings.set(key, value, priority="cmdline")
    for key, value in given.items():
        settings.set(key, value, priority="cmdline")
    return settings


QUIET_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry")


def _drop(record: logging.LogRecord) -> bool:
    return False


def configure_console_logging(settings: Settings, verbose: int, log_file: str | None, quiet: str = "ERROR") -> None:
    """Quiet by default (cron mails stderr): ``-v`` for INFO, ``-vv`` for DEBUG; a log file gets INFO.

    An explicit ``-s LOG_LEVEL=...`` wins. Every log line is redacted (``crawler.security.logs``).
    """
    install_log_redaction()
    if settings.getpriority("LOG_LEVEL") != SETTINGS_PRIORITIES["cmdline"]:
        level = ("INFO" if log_file else quiet) if verbose == 0 else "INFO" if verbose == 1 else "DEBUG"
        settings.set("LOG_LEVEL", level, priority="cmdline")
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)  # e.g. a log per run under logs/
        settings.set("LOG_FILE", log_file, priority="cmdline")
    elif not verbose:
        # Unreachable hosts are counted per source in the stats and the run report; cron mail
        # should not get a traceback for each of them from Scrapy's robots.txt and retry middlewares.
        # A filter, not a level: Scrapy's logging setup resets the levels of its child loggers.
        for name in QUIET_LOGGERS:
            logging.getLogger(name).addFilter(_drop)


def wants_progress(flag: bool) -> bool:
    """Progress lines: asked for with ``--progress``, or stderr is a terminal (never under cron)."""
    return flag or sys.stderr.isatty()


class SignalAwareProcess(AsyncCrawlerProcess):
    """Scrapy's process, remembering which signal asked it to stop (``autonews/stop_signal`` in the stats).

    Scrapy stops gracefully on SIGTERM/SIGINT (finish reason ``shutdown``) but does not say which
    signal it was; systemd and ``timeout`` expect 128 + the signal number (143, 130), and the run
    report must not judge sources on a partial run. Scrapy calls ``_log_shutdown`` on the event loop
    (not in the signal handler), in both its reactor and reactorless paths: the safe place to write stats.
    """

    def _log_shutdown(self, signum: int) -> None:  # type: ignore[override]  # a staticmethod in Scrapy
        for crawler in self.crawlers:
            if crawler.stats is not None and crawler.stats.get_value(STOP_SIGNAL) is None:
                crawler.stats.set_value(STOP_SIGNAL, signum)
        super()._log_shutdown(signum)


def run_spider(spider: str, settings: Settings, **spider_args: Any) -> dict[str, Any]:
    """Crawl with ``spider`` until it finishes; return the final stats."""
    process = SignalAwareProcess(settings)
    # Scrapy's logging setup (just done) leaves its loggers at DEBUG for the handler to filter, so every
    # response and every item still built a DEBUG record ("Scraped from": the whole article's repr),
    # formatted and redacted (crawler.security.logs) to be dropped. Below LOG_LEVEL none is built.
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL") or "DEBUG")
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **spider_args)
    process.start()
    try:
        stats = dict(crawler.stats.get_stats())
    except AttributeError:  # the crawl failed before Scrapy created its stats
        stats = {}
    stats.setdefault("finish_reason", "not started")
    return stats


