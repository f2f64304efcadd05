"""Downloader middleware that skips article URLs already recorded in the dedupe state.

Only requests with ``meta["autonews_kind"] == "article"`` are checked: feeds, sitemaps
and section pages must be fetched every run to find new articles. Enabled by
``AUTONEWS_SKIP_SEEN`` (default True). Stats: ``autonews/skipped/seen_url``, and per source
``autonews/source/<name>/new`` for the article requests let through (new entries). A stored article
the recheck middleware chose to fetch again (``meta["autonews_recheck"]``,
``crawler.middlewares.recheck``) goes through.

Pages that are not articles (an "about" page a feed links, a section page the rules let through) are
remembered too: when extraction drops a page as not an article (``NotAnArticle``), its URLs (the
requested one and the final one, canonicalized) are recorded in the state
(``DedupeStore.record_not_article``), and for ``AUTONEWS_NOT_ARTICLE_DAYS`` (default 30; 0 = off)
an article request for them is skipped before download (``autonews/skipped/not_article`` and
``autonews/source/<name>/skipped_not_article``) and is not a new entry of its source. After that
the page is fetched once more, in case it became an article.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.discovery.limits import NOT_ARTICLE_DAYS
from pipelines.extract.pipeline import NotAnArticle
from pipelines.items import PageItem
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
        days = crawler.settings.getfloat("AUTONEWS_NOT_ARTICLE_DAYS", NOT_ARTICLE_DAYS)
        self.not_article_for = timedelta(days=days) if days > 0 else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeenUrlMiddleware:
        """Build the middleware; NotConfigured when ``AUTONEWS_SKIP_SEEN`` is False."""
        if not crawler.settings.getbool("AUTONEWS_SKIP_SEEN", True):
            raise NotConfigured  # no message: switched off on purpose (AUTONEWS_SKIP_SEEN is off), not worth a WARNING
        middleware = cls(crawler)
        if middleware.not_article_for is not None:
            crawler.signals.connect(middleware.item_dropped, signal=signals.item_dropped)
        return middleware

    def store(self) -> DedupeStore:
        """The crawler's store (the dedupe pipeline's: its uncommitted adds count too)."""
        if self._store is None or self._store.closed:
            self._store = open_store(self.crawler)
        return self._store

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        """Remember the URLs of a page dropped as not an article (not a re-fetch of a stored article)."""
        if not isinstance(exception, NotAnArticle) or not isinstance(item, PageItem) or item.recheck:
            return
        now = datetime.now(timezone.utc)
        for url in {canonicalize_url(item.request_url or item.url), canonicalize_url(item.url)}:
            self.store().record_not_article(url, now)

    def process_request(self, request: Request, spider: object = None) -> None:
        """Skip a seen article request; let everything else through."""
        if request.meta.get("autonews_kind") != "article" or request.meta.get("autonews_recheck"):
            return None
        store, url = self.store(), canonicalize_url(request.url)
        if store.has_url(url):
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("autonews/skipped/seen_url")
            raise IgnoreRequest(f"seen: {request.url}")
        if self.not_article_for is not None and self.known_not_article(url):
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("autonews/skipped/not_article")
                source = request.meta.get("autonews_source", "unknown")
                self.crawler.stats.inc_value(f"autonews/source/{source}/skipped_not_article")
            raise IgnoreRequest(f"not an article: {request.url}")
        if self.crawler.stats is not None:
            # A new entry of its source: run health notices a feed that stopped bringing any.
            self.crawler.stats.inc_value(f"autonews/source/{request.meta.get('autonews_source', 'unknown')}/new")
        return None

    def known_not_article(self, url: str) -> bool:
        """True when the page at ``url`` was found not to be an article less than ``AUTONEWS_NOT_ARTICLE_DAYS`` ago."""
        memory = self.store().url_memory(url)
        return (memory is not None and memory.not_article is not None and self.not_article_for is not None
                and datetime.now(timezone.utc) - memory.not_article < self.not_article_for)
