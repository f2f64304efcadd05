"""The address guard and the crawl's resolver, in-process (issue 25's mutation run).

``tests/test_security.py`` crawls through the console script to show that redirects, feeds and
sitemaps never reach an internal host; the mutation run cannot see inside that subprocess, so
here the two gates are driven directly: :class:`AddressGuardMiddleware` with requests, and
:class:`SafeResolver` with look-ups. The look-ups are real (``socket.gethostbyname`` of names
``/etc/hosts`` or the numeric spelling answers: no network); only the reactor around them is a
small stand-in that runs them inline instead of in a thread pool, as the installed reactor would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import scrapy.resolver
import twisted.internet
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from twisted.internet.base import ReactorBase
from twisted.python.failure import Failure

from crawler.middlewares.failures import BlockedAddressError, BlockedSchemeError
from crawler.security.addresses import AddressPolicy
from crawler.security.guard import AddressGuardMiddleware
from crawler.security.resolver import SafeResolver, crawl_policy, log_refusal

INTERNAL = "2130706434"  # a host *name* whose numeric spelling is 127.0.0.2
HINT = "(allow it with AUTONEWS_PRIVATE_HOSTS if it is yours)"


class _Timer:
    """The delayed call ``callLater`` returns (the look-up finishes first, so only ``cancel`` is called)."""

    def cancel(self) -> None:
        """Nothing is pending."""


class InlineReactor:
    """Just enough of a Twisted reactor for :class:`SafeResolver`: the look-up runs inline, not in a thread."""

    # Twisted's own: an empty name answers 0.0.0.0 and an IP literal itself, without asking the resolver.
    resolve = ReactorBase.resolve

    def __init__(self) -> None:
        self.resolver: Any = None
        self.lookups: list[str] = []
        self.timeouts: list[float] = []

    def getThreadPool(self) -> InlineReactor:  # noqa: N802 (Twisted's name)
        """The "thread pool" is the reactor itself (``callInThreadWithCallback`` below)."""
        return self

    def callInThreadWithCallback(self, on_result: Any, fn: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        """Run ``fn`` (``socket.gethostbyname``) now and report as a thread pool would."""
        self.lookups.append(args[0])
        try:
            result = fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a failed look-up is reported, as the thread pool does
            on_result(False, Failure())
        else:
            on_result(True, result)

    def callFromThread(self, fn: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        """We are the reactor thread already."""
        fn(*args, **kwargs)

    def callLater(self, delay: float, fn: Any, *args: Any, **kwargs: Any) -> _Timer:  # noqa: N802
        """Remember the look-up's timeout."""
        self.timeouts.append(delay)
        return _Timer()


@pytest.fixture(autouse=True)
def empty_dns_cache() -> Iterator[None]:
    """Scrapy's DNS cache is process-wide: start each test with it empty, and put it back afterwards."""
    cache = scrapy.resolver.dnscache
    saved, limit = dict(cache), cache.limit
    cache.clear()
    try:
        yield
    finally:
        cache.clear()
        cache.update(saved)
        cache.limit = limit


def crawler_with(**settings: Any) -> Crawler:
    """A crawler with ``settings`` (no spider runs)."""
    return get_crawler(settings_dict=settings)


def resolver_of(crawler: Crawler) -> tuple[SafeResolver, InlineReactor]:
    """The crawl's resolver, installed on an inline reactor."""
    reactor = InlineReactor()
    reactor.resolver = SafeResolver.from_crawler(crawler, reactor)
    return reactor.resolver, reactor


def outcome(deferred: Any) -> Any:
    """What an already fired Deferred holds: its result, or the exception it failed with."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "the look-up did not finish inline"
    return results[0].value if isinstance(results[0], Failure) else results[0]


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The refusal warnings logged so far."""
    return [r.getMessage() for r in caplog.records if r.name == "crawler.security.resolver"]


# --- the resolver ----------------------------------------------------------------------------------------------


def test_names_that_resolve_inside_are_refused_once_logged(caplog: pytest.LogCaptureFixture) -> None:
    resolver, reactor = resolver_of(crawler_with(DNS_TIMEOUT=7.5))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            refused = outcome(resolver.getHostByName("localhost"))
            assert isinstance(refused, BlockedAddressError), refused
            assert (refused.host, refused.address) == ("localhost", "127.0.0.1")
        inside = outcome(reactor.resolve(INTERNAL))
    assert isinstance(inside, BlockedAddressError) and (inside.host, inside.address) == (INTERNAL, "127.0.0.2")
    assert str(inside) == f"refused {INTERNAL} (127.0.0.2): not a public address"
    assert refusals(caplog) == [
        f"Refused localhost (127.0.0.1): not a public address; requests to it are counted as blocked_address {HINT}",
        f"Refused {INTERNAL} (127.0.0.2): not a public address; requests to it are counted as blocked_address {HINT}"]
    assert reactor.lookups == ["localhost", INTERNAL]  # the second "localhost" came from the cache
    assert reactor.timeouts == [7.5, 7.5]  # DNS_TIMEOUT, whatever timeout the caller passes


def test_private_hosts_let_an_address_or_a_name_through_and_nothing_else() -> None:
    resolver, _ = resolver_of(crawler_with(AUTONEWS_PRIVATE_HOSTS="127.0.0.1"))
    assert outcome(resolver.getHostByName("localhost")) == "127.0.0.1"
    assert isinstance(outcome(resolver.getHostByName(INTERNAL)), BlockedAddressError)  # 127.0.0.2: not named
    scrapy.resolver.dnscache.clear()
    by_name, _ = resolver_of(crawler_with(AUTONEWS_PRIVATE_HOSTS="Localhost."))
    assert outcome(by_name.getHostByName("localhost")) == "127.0.0.1"
    assert isinstance(outcome(by_name.getHostByName(INTERNAL)), BlockedAddressError)


def test_cached_answers_are_checked_and_the_cache_follows_the_settings() -> None:
    resolver, reactor = resolver_of(crawler_with(DNSCACHE_ENABLED=True, DNSCACHE_SIZE=7))
    assert scrapy.resolver.dnscache.limit == 7
    for _ in range(2):
        assert isinstance(outcome(resolver.getHostByName("localhost")), BlockedAddressError)
    assert reactor.lookups == ["localhost"]  # the second answer came from the cache, and was refused too
    # an answer another crawler cached is judged by this crawler's policy
    allowed, again = resolver_of(crawler_with(AUTONEWS_PRIVATE_HOSTS="127.0.0.1"))
    assert outcome(allowed.getHostByName("localhost")) == "127.0.0.1" and again.lookups == []

    scrapy.resolver.dnscache.clear()
    uncached, reactor = resolver_of(crawler_with(DNSCACHE_ENABLED=False, DNSCACHE_SIZE=7))
    assert scrapy.resolver.dnscache.limit == 0
    for _ in range(2):
        assert isinstance(outcome(uncached.getHostByName("localhost")), BlockedAddressError)
    assert reactor.lookups == ["localhost", "localhost"]


def test_a_name_that_does_not_resolve_fails_as_a_dns_error() -> None:
    from twisted.internet.error import DNSLookupError

    resolver, reactor = resolver_of(crawler_with())
    assert isinstance(outcome(resolver.getHostByName("bad..name")), DNSLookupError)  # refused locally: no network
    assert reactor.lookups == ["bad..name"]


def test_the_guard_and_the_resolver_share_one_policy_parsed_once() -> None:
    crawler = crawler_with(AUTONEWS_PRIVATE_HOSTS="10.0.0.0/8, wiki")
    policy = crawl_policy(crawler)
    assert policy == AddressPolicy.parse("10.0.0.0/8, wiki")
    resolver, _ = resolver_of(crawler)
    assert resolver.policy is policy and AddressGuardMiddleware.from_crawler(crawler).policy is policy
    assert resolver.crawler is crawler and crawl_policy(crawler) is policy
    assert crawl_policy(crawler_with()) == AddressPolicy()


def test_a_refused_host_is_logged_once_per_crawl(caplog: pytest.LogCaptureFixture) -> None:
    first, second = crawler_with(), crawler_with()
    with caplog.at_level(logging.WARNING):
        for crawler in (first, first, second):
            log_refusal(crawler, "intranet", "10.0.0.1", "not a public address")
        log_refusal(first, "file: URLs", "file", "only http and https URLs are fetched", "blocked_scheme")
    line = f"Refused intranet (10.0.0.1): not a public address; requests to it are counted as blocked_address {HINT}"
    assert refusals(caplog) == [line, line, "Refused file: URLs (file): only http and https URLs are fetched; "
                                            "requests to it are counted as blocked_scheme"]


# --- the guard ---------------------------------------------------------------------------------------------------


@pytest.fixture
def guard_reactor(monkeypatch: pytest.MonkeyPatch) -> Iterator[InlineReactor]:
    """The inline reactor as the installed one (the guard resolves host names through it)."""
    reactor = InlineReactor()
    monkeypatch.setattr(twisted.internet, "reactor", reactor, raising=False)
    yield reactor


def guard(reactor: InlineReactor, **settings: Any) -> AddressGuardMiddleware:
    """The guard of a crawl with ``settings``, its resolver installed on ``reactor``."""
    crawler = crawler_with(**settings)
    reactor.resolver = SafeResolver.from_crawler(crawler, reactor)
    return AddressGuardMiddleware.from_crawler(crawler)


def passes(middleware: AddressGuardMiddleware, url: str) -> bool:
    """True when the guard lets ``url`` through; the refusal propagates."""
    return asyncio.run(middleware.process_request(Request(url))) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a", "data:text/html,hi",
                                 "s3://bucket/key", "gopher://127.0.0.1:6379/_FLUSHALL"])
def test_only_http_and_https_urls_pass(guard_reactor: InlineReactor, url: str, caplog: pytest.LogCaptureFixture) -> None:
    middleware = guard(guard_reactor)
    scheme = url.split(":", 1)[0]
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            with pytest.raises(BlockedSchemeError) as caught:
                passes(middleware, url)
            assert (caught.value.host, caught.value.address) == (url, scheme)
            assert str(caught.value) == f"refused {url} ({scheme}): only http and https URLs are fetched"
    assert refusals(caplog) == [f"Refused {scheme}: URLs ({scheme}): only http and https URLs are fetched; "
                                "requests to it are counted as blocked_scheme"]
    assert guard_reactor.lookups == []


def test_a_refused_url_is_named_by_its_first_100_characters(guard_reactor: InlineReactor) -> None:
    url = "file:///" + "a" * 200
    with pytest.raises(BlockedSchemeError) as caught:
        passes(guard(guard_reactor), url)
    assert caught.value.host == url[:100]


def test_ip_literals_are_judged_without_a_lookup(guard_reactor: InlineReactor, caplog: pytest.LogCaptureFixture) -> None:
    middleware = guard(guard_reactor)
    with caplog.at_level(logging.WARNING):
        for url, host in [("http://127.0.0.2:8080/secret", "127.0.0.2"), ("https://[::1]/", "::1"),
                          ("http://[fe80::1%25eth0]/", "fe80::1%25eth0"), ("http://169.254.169.254/latest/", "169.254.169.254")]:
            with pytest.raises(BlockedAddressError) as caught:
                passes(middleware, url)
            address = host.split("%")[0]
            assert (caught.value.host, caught.value.address) == (host, address), url
    assert refusals(caplog)[0] == ("Refused 127.0.0.2 (127.0.0.2): not a public address; "
                                   f"requests to it are counted as blocked_address {HINT}")
    assert len(refusals(caplog)) == 4
    assert passes(middleware, "http://93.184.216.34/a") and passes(middleware, "HTTPS://[2606:4700::1111]/")
    assert guard_reactor.lookups == []


def test_private_hosts_let_exactly_the_named_literals_through(guard_reactor: InlineReactor) -> None:
    middleware = guard(guard_reactor, AUTONEWS_PRIVATE_HOSTS="127.0.0.2, ::1")
    assert passes(middleware, "http://127.0.0.2:8080/secret") and passes(middleware, "http://[::1]/")
    with pytest.raises(BlockedAddressError):
        passes(middleware, "http://127.0.0.3/")


def test_host_names_are_resolved_through_the_crawls_resolver(guard_reactor: InlineReactor) -> None:
    middleware = guard(guard_reactor)
    with pytest.raises(BlockedAddressError) as caught:
        passes(middleware, "http://localhost:8080/secret")
    assert (caught.value.host, caught.value.address) == ("localhost", "127.0.0.1")
    with pytest.raises(BlockedAddressError):
        passes(middleware, f"http://{INTERNAL}/secret")
    assert guard_reactor.lookups == ["localhost", INTERNAL]
    # a name that does not resolve is the download's failure to report (dns_failed), not the guard's
    assert passes(middleware, "http://bad..name/")
    assert guard_reactor.lookups[-1] == "bad..name"
    # no host at all: nothing to look up (the download fails for want of one), and no made-up name is asked for
    assert passes(middleware, "http:///secret") and guard_reactor.lookups == ["localhost", INTERNAL, "bad..name"]


def test_an_allowed_name_passes_the_guard(guard_reactor: InlineReactor) -> None:
    middleware = guard(guard_reactor, AUTONEWS_PRIVATE_HOSTS="localhost")
    assert passes(middleware, "http://localhost:8080/")
    with pytest.raises(BlockedAddressError):
        passes(middleware, f"http://{INTERNAL}/")
