"""Downloader middleware that skips article URLs already recorded in the dedupe state, or re-fetches them.

Only requests with ``meta["autonews_kind"] == "article"`` are checked: feeds, sitemaps
and section pages must be fetched every run to find new articles. Enabled by
``AUTONEWS_SKIP_SEEN`` (default True). Stat: ``autonews/skipped/seen_url``.

A stored article is fetched again (news articles are corrected and extended after
publication) when the feed or sitemap entry that led here is dated later than the article's
last fetch (``meta["autonews_modified"]``: a feed's ``updated``, a sitemap's ``lastmod`` or news
date), or, with ``AUTONEWS_RECHECK_DAYS`` > 0, when it was first stored less than that many days
ago. Only at the article's own canonical URL (an alias or a syndicated copy's URL could hold
another text), at most once a run, and conditionally (``If-None-Match`` / ``If-Modified-Since``
from the stored validators: an unchanged page costs a 304). Deduplication then writes a changed
text as the next version. Stats: ``autonews/recheck/{requested,not_modified}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.discovery.dates import as_utc
from pipelines.state.backend import open_store
from pipelines.state.store import DedupeStore, StoredArticle
from pipelines.dedupe.urls import canonicalize_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler


class SeenUrlMiddleware:
    """Raise IgnoreRequest for article requests whose canonical URL is already in the state store,
    unless the stored article is due for a re-fetch."""

    def __init__(self, crawler: Crawler, recheck_days: float = 0.0) -> None:
        """Use :meth:`from_crawler`; the store is opened lazily on the first article request."""
        self.crawler = crawler
        self.recheck_days = recheck_days
        # Articles stored or re-fetched since this moment were fetched by this run: never again.
        self.started = datetime.now(timezone.utc).replace(microsecond=0)
        self._store: DedupeStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenUrlMiddleware:
        """Build the middleware; NotConfigured when ``AUTONEWS_SKIP_SEEN`` is False."""
        if not crawler.settings.getbool("AUTONEWS_SKIP_SEEN", True):
            raise NotConfigured("AUTONEWS_SKIP_SEEN is off")
        return cls(crawler, crawler.settings.getfloat("AUTONEWS_RECHECK_DAYS", 0.0))

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def process_request(self, request: Request, spider: object = None) -> None:
        """Skip a seen article request, or make it a conditional re-fetch; let everything else through."""
        if request.meta.get("autonews_kind") != "article" or request.meta.get("autonews_recheck"):
            return None  # a re-fetch already decided (this is its retry or redirect)
        if self._store is None or self._store.closed:
            # Same store object as the dedupe pipeline: its uncommitted adds count too.
            self._store = open_store(self.crawler)
        url = canonicalize_url(request.url)
        stored = self._store.find_article(url)
        if stored is None:
            return None
        if self.recheck_due(request, url, stored):
            request.meta["autonews_recheck"] = True
            request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", ()), 304]
            if stored.etag:
                request.headers["If-None-Match"] = stored.etag
            if stored.last_modified:
                request.headers["If-Modified-Since"] = stored.last_modified
            self._inc("autonews/recheck/requested")
            return None
        self._inc("autonews/skipped/seen_url")
        raise IgnoreRequest(f"seen: {request.url}")

    def recheck_due(self, request: Request, url: str, stored: StoredArticle) -> bool:
        """True when the stored article at ``url`` should be fetched again (see the module docstring)."""
        last = stored.checked or stored.first_seen
        if stored.canonical_url != url or last >= self.started:
            return False
        modified = as_utc(request.meta.get("autonews_modified"))
        if modified is not None and modified > last:
            return True
        return self.recheck_days > 0 and self.started - stored.first_seen < timedelta(days=self.recheck_days)
