"""Classify failed requests into short labels counted in the crawl stats."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure


def failure_label(failure: Failure) -> str:
    """Return a short, stable label for a request failure (``http_404``, ``TimeoutError``...)."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    return type(failure.value).__name__


def count_failure(stats: StatsCollector, failure: Failure, source: str) -> str | None:
    """Count a failure globally and per source; return its label.

    A request skipped on purpose (already stored, robots.txt) is not an error: None.
    """
    if failure.check(IgnoreRequest):
        stats.inc_value(f"autonews/source/{source}/skipped")
        return None
    label = failure_label(failure)
    stats.inc_value(f"autonews/errors/{label}")
    stats.inc_value("autonews/errors/total")
    stats.inc_value(f"autonews/source/{source}/errors")
    return label
