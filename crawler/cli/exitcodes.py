"""Exit statuses and stderr output of the ``autonews`` command (no heavy imports: used before Scrapy loads)."""

from __future__ import annotations

import sys

from pipelines.redact import redact

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_OUTPUT = 3
EXIT_STATE = 3  # the dedupe state is unreadable: nothing was done (crawler.cli.statecheck)
EXIT_HEALTH = 4  # the crawl finished, but a source is degraded or broken (AUTONEWS_HEALTH_EXIT_STATUS)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another crawl holds the state; cron may retry later


class UsageError(ValueError):
    """A command-line argument or ``-s`` override is malformed."""


def eprint(*parts: object) -> None:
    """Print to stderr (stdout carries records in ``autonews scrape``), passwords in URLs redacted."""
    print(redact(" ".join(str(p) for p in parts)), file=sys.stderr, flush=True)
