"""Downloader middleware: only http(s) URLs, and no IP-literal URL of a non-public address.

An IP literal (``http://127.0.0.2/``, ``http://[::1]/``) is never resolved, so it is checked
here. A host name is resolved here through the crawl's resolver (``crawler.security.resolver``,
cached, so the connection gets the same answer) to refuse it cleanly, before robots.txt is
asked for it and without retries; the resolver checks again at connection time, so an answer
that changes in between (DNS rebinding) is refused there. Every request passes through here, redirects and
robots.txt requests included. Refused requests fail with ``BlockedAddressError`` /
``BlockedSchemeError`` (counted by the spiders' errback as ``blocked_address`` /
``blocked_scheme``, per source); each host is logged once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler

from scrapy.utils.defer import maybe_deferred_to_future

from crawler.middlewares.failures import BlockedAddressError, BlockedSchemeError
from crawler.security.addresses import parse_ip
from crawler.security.resolver import crawl_policy, log_refusal

ALLOWED_SCHEMES = frozenset({"http", "https"})


class AddressGuardMiddleware:
    """Refuse non-http(s) requests and requests to IP literals that ``AUTONEWS_PRIVATE_HOSTS`` does not allow."""

    def __init__(self, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`."""
        self.crawler = crawler
        self.policy = crawl_policy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        """Build the middleware with the crawl's address policy."""
        return cls(crawler)

    async def process_request(self, request: Request, spider: object = None) -> None:
        """Let an allowed request through; raise for any other."""
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            log_refusal(self.crawler, f"{scheme}: URLs", scheme, "only http and https URLs are fetched",
                        "blocked_scheme")
            raise BlockedSchemeError(request.url[:100], scheme, "only http and https URLs are fetched")
        host = parts.hostname or ""
        address = parse_ip(host)
        if address is None:
            await self._resolve(host)
        elif not self.policy.allows_ip(address):
            log_refusal(self.crawler, host, str(address), "not a public address")
            raise BlockedAddressError(host, str(address))
        return None

    async def _resolve(self, host: str) -> None:
        """Resolve ``host`` with the crawl's resolver: BlockedAddressError propagates, DNS failures
        do not (the download itself then fails, counted and retried as DNS errors are)."""
        from twisted.internet import reactor  # the installed one: Scrapy installs it before any middleware runs

        try:
            await maybe_deferred_to_future(reactor.resolve(host))
        except BlockedAddressError:
            raise
        except Exception:  # noqa: BLE001 - any resolution failure is the download's to report
            return
