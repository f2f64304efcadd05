"""The crawl's DNS resolver: Scrapy's caching resolver, refusing answers that are not public addresses.

The check happens where the address is used, at connection time, so neither a redirect, a
DNS answer that changes between two lookups (rebinding) nor a host name that spells an address
(``2130706433``, ``127.1``) slips past it. IP-literal URLs never reach a resolver (the reactor
connects to them directly): the guard middleware (``crawler.security.guard``) checks those.

Installed with ``TWISTED_DNS_RESOLVER`` (crawler/settings.py). It covers every connection
Scrapy's default HTTP/1.1 download handler makes, robots.txt included; a download handler that
resolves names itself (the optional httpx/aiohttp ones) would bypass it, so settings.py pins
the http and https handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred

from crawler.middlewares.failures import BlockedAddressError
from crawler.security.addresses import AddressPolicy

logger = logging.getLogger(__name__)

BLOCKED_ADDRESS = "blocked_address"
"""The error label of a refused address (``crawler.middlewares.failures.failure_label``)."""


def crawl_policy(crawler: Crawler) -> AddressPolicy:
    """The crawl's address policy from ``AUTONEWS_PRIVATE_HOSTS``, parsed once per crawler."""
    policy = getattr(crawler, "_autonews_address_policy", None)
    if policy is None:
        policy = AddressPolicy.parse(crawler.settings.get("AUTONEWS_PRIVATE_HOSTS") or "")
        crawler._autonews_address_policy = policy
    return policy


def log_refusal(crawler: Crawler, host: str, address: str, reason: str, label: str = BLOCKED_ADDRESS) -> None:
    """Log a refused host once per crawl, with the error label its requests are counted under and, for an
    address, the setting that would allow it (nothing allows a scheme other than http(s))."""
    logged: set[str] = crawler.__dict__.setdefault("_autonews_refused_hosts", set())
    if host in logged:
        return
    logged.add(host)
    hint = " (allow it with AUTONEWS_PRIVATE_HOSTS if it is yours)" if label == BLOCKED_ADDRESS else ""
    logger.warning("Refused %s (%s): %s; requests to it are counted as %s%s", host, address, reason, label, hint)


class SafeResolver(CachingThreadedResolver):
    """``CachingThreadedResolver`` whose answers must be allowed by the crawl's :class:`AddressPolicy`."""

    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`."""
        super().__init__(reactor, cache_size, timeout)
        self.crawler = crawler
        self.policy = crawl_policy(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> SafeResolver:
        """Build the resolver from the DNS cache settings and ``AUTONEWS_PRIVATE_HOSTS``."""
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), crawler)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802 (Twisted's name)
        """Resolve ``name`` (cached), then fail with BlockedAddressError unless the address is allowed."""
        return super().getHostByName(name, timeout).addCallback(self._check, name)

    def _check(self, address: Any, name: str) -> Any:
        # Cached answers are checked too: the policy is the same, but a cache filled by another
        # crawler in this process (tests) may not be.
        if self.policy.allows(name, str(address)):
            return address
        log_refusal(self.crawler, name, str(address), "not a public address")
        raise BlockedAddressError(name, str(address))
