"""The registry spider: discovers articles through feeds, sitemaps and section pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit
from typing import Any, TypeVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor

from crawler.middlewares.failures import count_error
from crawler.discovery.sitemaps import DiscoveryError, Entry, is_recent, parse_feed, parse_sitemap
from crawler.sources.configured import configured_sources
from crawler.sources.registry import Source
from crawler.spiders.base import NewsSpiderBase
from crawler.ages import parse_age

T = TypeVar("T")
# Every link of a page, deduplicated, minus ignored extensions (images, archives...). The
# source's allow/deny rules are applied by `Source.follows`: like LinkExtractor's own
# allow/deny, it searches the regexes in the absolute URL, so the same links pass.
_LINKS = LinkExtractor()


class NewsSpider(NewsSpiderBase):
    """Crawl every enabled source of the registry (``AUTONEWS_SOURCES``)."""

    name = "news"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "NewsSpider":
        """Load and validate the registry before the crawl starts; set per-source delays."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.sources = {s.name: s for s in configured_sources(settings)}
        since = settings.get("AUTONEWS_SINCE")
        spider.since = datetime.now(timezone.utc) - parse_age(since) if since else None
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for source in spider.sources.values():
            if source.download_delay is not None:
                for host in source.domains():
                    slots.setdefault(host, {"delay": source.download_delay})
        if slots and not settings.frozen:
            settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
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

    def entry_requests(self, entries: list[Entry], source: Source) -> Iterator[scrapy.Request]:
        """Turn feed or sitemap entries into article requests (entries older than ``--since`` skipped)."""
        for entry in entries:
            if not is_recent(entry, self.since):
                self.crawler.stats.inc_value("autonews/skipped/too_old")
                continue
            yield self.article_request(
                entry.url, source.name,
                autonews_published=entry.published, autonews_language=source.language,
                autonews_modified=entry.modified,  # a newer date re-fetches a stored article (middlewares/recheck.py)
            )

    def _discovered(self, response: Response, kind: str) -> Source:
        self.crawler.stats.inc_value("autonews/discovery/ok")
        self.crawler.stats.inc_value(f"autonews/discovery/{kind}")
        return self.sources[response.meta["autonews_source"]]

    def _parse(self, response: Response, kind: str, parser: Callable[[bytes, str], T]) -> T | None:
        """Run a discovery parser on the body; a broken document is counted and logged, never raised."""
        try:
            return parser(response.body, response.url)
        except DiscoveryError as exc:
            count_error(self.crawler.stats, f"{kind}_parse", response.meta["autonews_source"])
            self.logger.warning("Broken %s %s: %s", kind, response.url, exc)
            return None

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Parse an RSS/Atom feed into article requests."""
        source = self._discovered(response, "feed")
        entries = self._parse(response, "feed", parse_feed)
        yield from self.entry_requests(entries or [], source)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Parse a sitemap (index, gzip, Google News) into sitemap and article requests."""
        source = self._discovered(response, "sitemap")
        result = self._parse(response, "sitemap", parse_sitemap)
        if result is None:
            return
        for child in result.children:
            # An index's child dated by <lastmod> before --since holds nothing newer: not fetched.
            if not is_recent(child, self.since):
                self.crawler.stats.inc_value("autonews/skipped/too_old_sitemap")
                continue
            yield self.discovery_request(child.url, source, self.parse_sitemap)
        yield from self.entry_requests(result.entries, source)

    def parse_section(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow article links from a section page, as the source's allow/deny rules say."""
        source = self._discovered(response, "section")
        yield from self.follow_links(response, source)

    def follow_links(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        """Yield article requests for links on the source's hosts that ``Source.follows``, up to ``max_depth``."""
        depth = response.meta.get("autonews_depth", 0) + 1
        if depth > source.max_depth or not hasattr(response, "text"):
            return
        hosts = source.domains()
        for link in _LINKS.extract_links(response):
            # Domains are checked by host name: LinkExtractor's allow_domains also compares the port.
            host = urlsplit(link.url).hostname or ""
            if not any(host == d or host.endswith("." + d) for d in hosts) or not source.follows(link.url):
                continue
            yield self.article_request(
                link.url, source.name, autonews_depth=depth, autonews_language=source.language,
            )

    def parse_article(self, response: Response) -> Any:
        """Yield the page item, then follow links deeper when the source allows it."""
        yield from super().parse_article(response)
        source = self.sources.get(response.meta.get("autonews_source", ""))
        if source is not None and "autonews_depth" in response.meta:
            yield from self.follow_links(response, source)

