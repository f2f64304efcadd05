"""Downloader middleware that skips article URLs already recorded in the dedupe state.

Only requests with ``meta["autonews_kind"] == "article"`` are checked: feeds, sitemaps
and section pages must be fetched every run to find new articles. Enabled by
``AUTONEWS_SKIP_SEEN`` (default True). Stats: ``autonews/skipped/seen_url``, and per source
``autonews/source/<name>/new`` for the article requests let through (new entries). A stored article
the recheck middleware chose to fetch again (``meta["autonews_recheck"]``,
``crawler.middlewares.recheck``) goes through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured

from pipelines.state.backend import open_store
from pipelines.state.store import DedupeStore
from pipelines.dedupe.urls import canonicalize_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class SeenUrlMiddleware:
    """Raise IgnoreRequest for article requests whose canonical URL is already in the state store."""

    def __init__(self, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`; the store is opened lazily on the first article request."""
        self.crawler = crawler
        self._store: DedupeStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenUrlMiddleware:
        """Build the middleware; NotConfigured when ``AUTONEWS_SKIP_SEEN`` is False."""
        if not crawler.settings.getbool("AUTONEWS_SKIP_SEEN", True):
            raise NotConfigured  # no message: switched off on purpose (AUTONEWS_SKIP_SEEN is off), not worth a WARNING
        return cls(crawler)

    def process_request(self, request: Request, spider: object = None) -> None:
        """Skip a seen article request; let everything else through."""
        if request.meta.get("autonews_kind") != "article" or request.meta.get("autonews_recheck"):
            return None
        if self._store is None or self._store.closed:
            # Same store object as the dedupe pipeline: its uncommitted adds count too.
            self._store = open_store(self.crawler)
        if self._store.has_url(canonicalize_url(request.url)):
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("autonews/skipped/seen_url")
            raise IgnoreRequest(f"seen: {request.url}")
        if self.crawler.stats is not None:
            # A new entry of its source: run health notices a feed that stopped bringing any.
            self.crawler.stats.inc_value(f"autonews/source/{request.meta.get('autonews_source', 'unknown')}/new")
        return None
