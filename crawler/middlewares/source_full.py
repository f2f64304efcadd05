"""Downloader middleware that does not fetch a child sitemap of a source whose article cap is full.

A sitemap index lists its children at once, so they are all queued before any of them is read; a
1,000-child index of 50,000 URLs each would then cost 1,000 downloads and 50 million parsed URLs
although the first child already fills ``AUTONEWS_MAX_ARTICLES_PER_SOURCE``. Whether a source is
full is the spider's to say (``NewsSpider.source_full``); a child still queued when it is gets
``SourceFull`` here, counted by the spider as ``autonews/skipped/sitemap_source_full`` and not as a
failed discovery request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class SourceFull(IgnoreRequest):
    """A child sitemap left unfetched because its source's article cap is full."""


class SourceFullMiddleware:
    """Raise :class:`SourceFull` for child sitemap requests (``meta["autonews_child_sitemap"]``) of a full source."""

    def __init__(self, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`."""
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceFullMiddleware:
        """Build the middleware."""
        return cls(crawler)

    def process_request(self, request: Request, spider: object = None) -> None:
        """Let everything through but a child sitemap of a source the spider says is full."""
        if not request.meta.get("autonews_child_sitemap"):
            return None
        full = getattr(self.crawler.spider, "source_full", None)
        source = str(request.meta.get("autonews_source", ""))
        if full is not None and full(source):
            raise SourceFull(f"source {source} is full: {request.url}")
        return None
