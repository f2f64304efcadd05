"""The registry spider: discovers articles through feeds, sitemaps and section pages.

Discovery is bounded and kept on each source's own sites. Nothing left out is queued;
all of it is counted in the stats (and so in the run report):

- ``autonews/skipped/sitemap_cap``, ``autonews/skipped/feed_cap``: article URLs one sitemap or
  feed listed beyond ``MAX_SITEMAP_URLS`` (50,000, the sitemap protocol's limit);
  ``autonews/skipped/index_cap``: child sitemaps one index listed beyond ``MAX_INDEX_SITEMAPS``
  (50,000). Logged once per document.
- ``autonews/skipped/source_cap`` and ``autonews/source/<name>/skipped_cap``: article requests
  of a source beyond ``AUTONEWS_MAX_ARTICLES_PER_SOURCE`` distinct new URLs in this run (0: no
  limit), from feeds, sitemaps and links alike; URLs of articles stored in earlier runs do not
  count (they are skipped before download anyway). Logged once per source.
- ``autonews/skipped/sitemap_source_full`` and ``autonews/source/<name>/skipped_sitemaps``: sitemaps
  of a source whose cap is full, neither fetched (a child sitemap still queued:
  ``crawler.middlewares.source_full``) nor parsed (one fetched meanwhile), nor scheduled (an index's
  further children). Once the cap is full the rest of a document's entries is not looked at either
  (counted under ``skipped/source_cap``): a 1,000-child index of 50,000 URLs each costs one or a few
  children, not 50 million parsed URLs.
- ``autonews/skipped/off_domain`` (articles), ``autonews/skipped/off_domain_sitemap`` (child
  sitemaps) and ``autonews/source/<name>/skipped_off_domain``: feed and sitemap entries on a
  host that is not the source's (``Source.on_domain``: its feed, sitemap and start URL hosts,
  its ``domains:``, and their subdomains), as the sitemap protocol itself requires. Logged once
  per (source, host), for the first `MAX_LOGGED_HOSTS` hosts of a source. Off-domain links on
  pages are skipped without a count, as before: every page links to other sites.
- ``autonews/skipped/not_http`` and ``autonews/source/<name>/skipped_not_http``: feed and
  sitemap entries, and links on pages, with a scheme other than http(s) (javascript:, data:,
  file:, ftp:...). LinkExtractor itself drops javascript:, data: and mailto: links uncounted;
  it passes file:// and ftp://, which are counted here.

Only what discovery finds is checked: a redirect may leave the source's sites (a feed proxy
does), and every hop still goes through the address check of ``crawler.security``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit
from typing import Any, TypeVar

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor

from crawler.middlewares.failures import count_error
from crawler.discovery.limits import MAX_ARTICLES_PER_SOURCE, MAX_INDEX_SITEMAPS, MAX_SITEMAP_URLS
from crawler.discovery.sitemaps import DiscoveryError, Entry, is_recent, parse_sitemap, read_feed
from crawler.sources.configured import configured_sources
from pipelines.dedupe.urls import canonicalize_url
from pipelines.state.backend import current_store
from crawler.sources.registry import Source
from crawler.spiders.base import NewsSpiderBase
from crawler.spiders.children import ChildSitemaps
from crawler.ages import parse_age

T = TypeVar("T")
# Every link of a page, deduplicated, minus ignored extensions (images, archives...). The
# source's allow/deny rules are applied by `Source.follows`: like LinkExtractor's own
# allow/deny, it searches the regexes in the absolute URL, so the same links pass.
_LINKS = LinkExtractor()
# Off-domain hosts logged per source: a hostile sitemap may list 50,000 distinct hosts.
MAX_LOGGED_HOSTS = 20


class NewsSpider(NewsSpiderBase):
    """Crawl every enabled source of the registry (``AUTONEWS_SOURCES``)."""

    name = "news"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the per-run bookkeeping of the discovery bounds (see the module docstring)."""
        super().__init__(*args, **kwargs)
        self.max_articles = MAX_ARTICLES_PER_SOURCE
        self.skip_seen = False
        # Per source: the article URLs queued this run while the cap applies (distinct URLs
        # count once: a story in both the feed and the sitemap is one request).
        self.queued: defaultdict[str, set[str]] = defaultdict(set)
        self.capped: set[str] = set()  # sources whose cap was logged
        self.off_domain_hosts: defaultdict[str, set[str]] = defaultdict(set)  # logged, per source
        self.children = ChildSitemaps()  # child sitemaps released a few at a time per source

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "NewsSpider":
        """Load and validate the registry before the crawl starts; set per-source delays."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.sources = {s.name: s for s in configured_sources(settings)}
        since = settings.get("AUTONEWS_SINCE")
        spider.since = datetime.now(timezone.utc) - parse_age(since) if since else None
        spider.max_articles = settings.getint("AUTONEWS_MAX_ARTICLES_PER_SOURCE", MAX_ARTICLES_PER_SOURCE)
        spider.skip_seen = settings.getbool("AUTONEWS_SKIP_SEEN", True)
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for source in spider.sources.values():
            if source.download_delay is not None:
                for host in source.domains():
                    slots.setdefault(host, {"delay": source.download_delay})
        if slots and not settings.frozen:
            settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Yield one discovery request per feed, sitemap and section page.

        In worker mode a spider middleware lets them through only on the worker elected to seed
        the round (``crawler.distributed.rounds.SeedElection``).
        """
        for request in self.seed_requests():
            yield request

    def seed_requests(self) -> Iterator[scrapy.Request]:
        """One discovery request per feed, sitemap and section page of the registry."""
        for source in self.sources.values():
            for url in source.feeds:
                yield self.discovery_request(url, source, self.parse_feed)
            for url in source.sitemaps:
                yield self.discovery_request(url, source, self.parse_sitemap)
            for url in source.start_urls:
                yield self.discovery_request(url, source, self.parse_section, autonews_depth=0)

    def discovery_request(self, url: str, source: Source, callback: Any, **meta: Any) -> scrapy.Request:
        """Build a feed/sitemap/section request (re-fetched every run, never skipped as seen).

        Scrapy's duplicate filter still applies within a run, which is what
        breaks sitemap-index cycles (A lists B, B lists A).
        """
        self.crawler.stats.inc_value("autonews/discovery/requested")
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            # max-age=0 makes the HTTP cache revalidate every run: an unchanged feed costs a 304.
            headers={"Cache-Control": "max-age=0"},
            meta={"autonews_kind": "discovery", "autonews_source": source.name, **meta},
        )

    def entry_requests(self, entries: list[Entry], source: Source, origin: str = "feed") -> Iterator[scrapy.Request]:
        """Turn feed or sitemap entries into article requests: recent, on the source's hosts, within its cap.

        ``origin`` (``feed`` or ``sitemap``) travels with an entry's date: it is the record's
        ``published_from`` when the page itself has no date."""
        # Entries found, before --since and the seen check: a drop means discovery broke (run health).
        self.crawler.stats.inc_value(f"autonews/source/{source.name}/entries", len(entries))
        for index, entry in enumerate(entries):
            if self.source_full(source.name):
                self.over_cap(source, len(entries) - index)  # the rest is not looked at: no state lookups
                return
            if not is_recent(entry, self.since):
                self.crawler.stats.inc_value("autonews/skipped/too_old")
                continue
            if not self.requestable(entry.url, source, "off_domain") or not self.within_cap(entry.url, source):
                continue
            yield self.article_request(
                entry.url, source.name,
                autonews_published=entry.published, autonews_published_from=origin if entry.published else None,
                autonews_language=source.language,
                autonews_modified=entry.modified,  # a newer date re-fetches a stored article (middlewares/recheck.py)
            )

    def requestable(self, url: str, source: Source, off_domain: str | None) -> bool:
        """True if a discovered URL may become a request: http(s), and on the source's hosts.

        `off_domain` names the stat an off-domain URL is counted under
        (``autonews/skipped/<off_domain>``), None for links on pages (not counted).
        """
        try:
            scheme = urlsplit(url).scheme
        except ValueError:  # e.g. an invalid IPv6 literal: no request could be made of it anyway
            return False
        if scheme not in ("http", "https"):
            self.count_not_http(source, 1)
            return False
        if source.on_domain(url):
            return True
        if off_domain is not None:
            stats = self.crawler.stats
            stats.inc_value(f"autonews/skipped/{off_domain}")
            stats.inc_value(f"autonews/source/{source.name}/skipped_off_domain")
            self.log_off_domain(url, source)
        return False

    def log_off_domain(self, url: str, source: Source) -> None:
        """Log an off-domain entry once per (source, host), for the first `MAX_LOGGED_HOSTS` hosts."""
        host = urlsplit(url).hostname or ""  # parsed once already by Source.on_domain
        logged = self.off_domain_hosts[source.name]
        if host in logged or len(logged) > MAX_LOGGED_HOSTS:
            return
        logged.add(host)
        if len(logged) > MAX_LOGGED_HOSTS:
            self.logger.warning("Source %s: more entries on other hosts; further hosts are not logged", source.name)
            return
        self.logger.warning("Source %s: skipping entries on %s (e.g. %s), not one of its hosts (%s); "
                            "the registry field domains: can add it",
                            source.name, host, url, ", ".join(source.domains()))

    def within_cap(self, url: str, source: Source) -> bool:
        """True if an article request for `url` fits the source's ``AUTONEWS_MAX_ARTICLES_PER_SOURCE``."""
        if self.max_articles <= 0:
            return True
        queued = self.queued[source.name]
        if url in queued:
            return True  # already queued: Scrapy's duplicate filter drops the copy, it costs nothing
        if self.already_stored(url):
            return True  # the seen-URL middleware skips it before download: it costs no fetch
        if len(queued) < self.max_articles:
            queued.add(url)
            return True
        self.over_cap(source)
        return False

    def source_full(self, name: str) -> bool:
        """True once source ``name`` has queued as many new article requests as its cap allows."""
        return 0 < self.max_articles <= len(self.queued[name])

    def over_cap(self, source: Source, count: int = 1) -> None:
        """Count (and log once per source) article URLs left out for the source's cap."""
        self.crawler.stats.inc_value("autonews/skipped/source_cap", count)
        self.crawler.stats.inc_value(f"autonews/source/{source.name}/skipped_cap", count)
        if source.name not in self.capped:
            self.capped.add(source.name)
            self.logger.warning("Source %s: %d article requests queued in this run, the most "
                                "AUTONEWS_MAX_ARTICLES_PER_SOURCE allows; further ones are skipped",
                                source.name, self.max_articles)

    def already_stored(self, url: str) -> bool:
        """True when ``url`` belongs to an article stored in an earlier run (and skipping seen URLs is on).

        Such URLs do not use up a source's cap: a sitemap listing thousands of old stories before
        its new ones must not starve the source.
        """
        # The store the pipelines opened for this crawl; without one (no pipelines: seeding only)
        # every URL counts, which errs on the side of fewer requests.
        store = current_store(self.crawler) if self.skip_seen else None
        return store is not None and store.has_url(canonicalize_url(url))

    def count_not_http(self, source: Source, count: int) -> None:
        """Count URLs that were never requested for their scheme (javascript:, data:, file:, ftp:...)."""
        if count:
            self.crawler.stats.inc_value("autonews/skipped/not_http", count)
            self.crawler.stats.inc_value(f"autonews/source/{source.name}/skipped_not_http", count)

    def count_over_cap(self, response: Response, stat: str, count: int, cap: int, what: str) -> None:
        """Count (``autonews/skipped/<stat>``) and log what one document listed beyond its cap."""
        if count:
            self.crawler.stats.inc_value(f"autonews/skipped/{stat}", count)
            self.logger.warning("%s lists %d %s beyond the %d allowed: skipped", response.url, count, what, cap)

    def _discovered(self, response: Response, kind: str) -> Source:
        self.crawler.stats.inc_value("autonews/discovery/ok")
        self.crawler.stats.inc_value(f"autonews/discovery/{kind}")
        return self.sources[response.meta["autonews_source"]]

    def _parsed(self, response: Response) -> None:
        """Count a discovery page fetched and parsed, per source (run health: discovery)."""
        self.crawler.stats.inc_value(f"autonews/source/{response.meta['autonews_source']}/discovery/ok")

    def _parse(self, response: Response, kind: str, parser: Callable[[bytes, str], T]) -> T | None:
        """Run a discovery parser on the body; a broken document is counted and logged, never raised."""
        try:
            return parser(response.body, response.url)
        except DiscoveryError as exc:
            count_error(self.crawler.stats, f"{kind}_parse", response.meta["autonews_source"])
            self.count_discovery_failure(response.meta["autonews_source"], f"{kind}_parse")
            self.logger.warning("Broken %s %s: %s", kind, response.url, exc)
            return None

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Parse an RSS/Atom feed into article requests."""
        source = self._discovered(response, "feed")
        result = self._parse(response, "feed", read_feed)
        if result is None:
            return
        self._parsed(response)
        self.count_over_cap(response, "feed_cap", result.over_cap, MAX_SITEMAP_URLS, "entries")
        self.count_not_http(source, result.not_http)
        yield from self.entry_requests(result.entries, source)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Parse a sitemap (index, gzip, Google News) into sitemap and article requests."""
        source = self._discovered(response, "sitemap")
        if response.meta.get("autonews_child_sitemap"):
            self.children.answered(source.name)
        if self.source_full(source.name):  # fetched while the cap filled up: nothing in it could be queued
            self.skip_sitemaps(source.name)
            yield from self.release_children(source)  # counts the children still waiting
            return
        result = self._parse(response, "sitemap", parse_sitemap)
        if result is None:
            yield from self.release_children(source)  # a broken child frees its slot for the next
            return
        self._parsed(response)
        self.count_over_cap(response, "index_cap", result.children_over_cap, MAX_INDEX_SITEMAPS, "child sitemaps")
        self.count_over_cap(response, "sitemap_cap", result.entries_over_cap, MAX_SITEMAP_URLS, "URLs")
        self.count_not_http(source, result.not_http)
        # Entries first: once they fill the source's cap, no child is requested.
        yield from self.entry_requests(result.entries, source, "sitemap")
        children = []
        for child in result.children:
            # An index's child dated by <lastmod> before --since holds nothing newer: not fetched.
            if not is_recent(child, self.since):
                self.crawler.stats.inc_value("autonews/skipped/too_old_sitemap")
            elif self.requestable(child.url, source, "off_domain_sitemap"):
                children.append(child.url)
        self.children.add(source.name, children)
        yield from self.release_children(source)

    def release_children(self, source: Source) -> Iterator[scrapy.Request]:
        """Requests for the child sitemaps of ``source`` whose turn it is (``crawler.spiders.children``);
        none once the source is full (those waiting are counted)."""
        if self.source_full(source.name):
            dropped = self.children.drop(source.name)
            if dropped:
                self.skip_sitemaps(source.name, dropped)
            return
        for url in self.children.take(source.name):
            yield self.discovery_request(url, source, self.parse_sitemap, autonews_child_sitemap=True)

    def child_answered(self, request: scrapy.Request) -> None:
        """A child sitemap failed (``on_error``): free its slot and request the next children."""
        source = self.sources.get(request.meta.get("autonews_source", ""))
        if source is None:
            return
        self.children.answered(source.name)
        for child in self.release_children(source):
            self.crawler.engine.crawl(child)

    def spider_idle(self) -> None:
        """Request waiting child sitemaps when nothing else is left (their slots may have been answered by
        another worker); keeps the spider open for them."""
        released = False
        for name in self.children.idle():
            for child in self.release_children(self.sources[name]):
                self.crawler.engine.crawl(child)
                released = True
        if released:
            raise DontCloseSpider

    def parse_section(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow article links from a section page, as the source's allow/deny rules say."""
        source = self._discovered(response, "section")
        self._parsed(response)
        yield from self.follow_links(response, source)

    def follow_links(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        """Article requests for http(s) links on the source's hosts that ``Source.follows``, up to ``max_depth``."""
        depth = response.meta.get("autonews_depth", 0) + 1
        if depth > source.max_depth or not hasattr(response, "text"):
            return
        for link in _LINKS.extract_links(response):
            # Hosts are checked by name (Source.on_domain): LinkExtractor's allow_domains also compares the port.
            if not self.requestable(link.url, source, None) or not source.follows(link.url):
                continue
            if not self.within_cap(link.url, source):
                continue
            self.crawler.stats.inc_value(f"autonews/source/{source.name}/entries")  # links count as entries found
            yield self.article_request(
                link.url, source.name, autonews_depth=depth, autonews_language=source.language,
            )

    def parse_article(self, response: Response) -> Any:
        """Yield the page item, then follow links deeper when the source allows it."""
        yield from super().parse_article(response)
        source = self.sources.get(response.meta.get("autonews_source", ""))
        if source is not None and "autonews_depth" in response.meta:
            yield from self.follow_links(response, source)

