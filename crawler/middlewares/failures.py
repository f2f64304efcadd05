"""Classify failed requests into short labels counted in the crawl stats.

Scrapy reports several real failures as IgnoreRequest (HTTP errors, redirect loops,
bodies inflating past DOWNLOAD_MAXSIZE), the same class it uses for requests skipped on
purpose (robots.txt, already stored, offsite), so those are told apart here. The errors
raised by the project's own downloader middlewares (`truncated_gzip`, `redirect_loop`)
are defined here, next to their labels.
"""

from __future__ import annotations

from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                               IgnoreRequest)
from twisted.internet.error import ConnectionRefusedError as RefusedError
from twisted.internet.error import DNSLookupError
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

from pipelines.stats import count_error

__all__ = ["count_error", "count_failure", "failure_label", "skip_label"]


class TruncatedBodyError(Exception):
    """A compressed response body ends before its compressed stream does (TruncatedGzipMiddleware)."""


class BlockedAddressError(Exception):
    """A request to a non-public address (or a non-http(s) URL) that ``AUTONEWS_PRIVATE_HOSTS`` does not allow.

    Raised by the address guard (``crawler.security``); deliberately not a DNS or connection error,
    so the retry middleware does not try it again.
    """

    def __init__(self, host: str, address: str, reason: str = "not a public address") -> None:
        super().__init__(f"refused {host} ({address}): {reason}")
        self.host = host
        self.address = address


class BlockedSchemeError(BlockedAddressError):
    """A request whose URL is not http(s) (``file:``, ``ftp:``, ``data:``...): crawls fetch nothing else."""


class RedirectLoopError(Exception):
    """A redirect leads back to a URL already visited in the same redirect chain (RedirectLoopMiddleware)."""


def failure_label(failure: Failure) -> str | None:
    """Return a short, stable label for a request failure (``http_404``, ``too_large``,
    ``redirect_loop``, ``blocked_address``, ``DownloadTimeoutError``...), or None for a request skipped on purpose.
    """
    exc = failure.value
    if failure.check(HttpError):
        return f"http_{exc.response.status}"
    if failure.check(IgnoreRequest):
        message = str(exc)
        if "DOWNLOAD_MAXSIZE" in message:  # HttpCompressionMiddleware: a decompression bomb
            return "too_large"
        if "max redirections" in message:  # RedirectMiddleware: an endless chain
            return "redirect_loop"
        return None  # skipped on purpose (robots.txt, already stored): see skip_label
    if failure.check(RedirectLoopError):
        return "redirect_loop"
    if failure.check(BlockedSchemeError):
        return "blocked_scheme"
    if failure.check(BlockedAddressError):
        return "blocked_address"
    if failure.check(DownloadCancelledError):
        # Download handlers cancel only past DOWNLOAD_MAXSIZE (the streamed case carries no
        # message) or when the crawl is being shut down, when counts no longer matter.
        return "too_large"
    if failure.check(TruncatedBodyError):
        return "truncated_body"
    if failure.check(CannotResolveHostError, DNSLookupError):  # the name does not resolve (a typo, a dead domain)
        return "dns_failed"
    if failure.check(DownloadConnectionRefusedError, RefusedError):
        return "connection_refused"
    return type(exc).__name__


def skip_label(failure: Failure) -> str:
    """Why a request was skipped on purpose (``failure_label`` is None): ``robots_txt`` or ``skipped``."""
    return "robots_txt" if "robots.txt" in str(failure.value) else "skipped"


def count_failure(stats: StatsCollector, failure: Failure, source: str) -> str | None:
    """Count a failure globally and per source; return its label.

    A request skipped on purpose (already stored, robots.txt) is not an error: None.
    """
    label = failure_label(failure)
    if label is None:
        stats.inc_value(f"autonews/source/{source}/skipped")
        return None
    count_error(stats, label, source)
    return label
