"""Spider middleware that turns article requests for stored articles into conditional re-fetches when due.

News articles are corrected and extended after publication. A stored article is fetched again
when the feed or sitemap entry that links it is dated later than the article's last fetch
(``meta["autonews_modified"]``: a feed's ``updated``, a sitemap's ``lastmod`` or news date), or,
with ``AUTONEWS_RECHECK_DAYS`` > 0, when it was first stored less than that many days ago.
Deduplication then writes a changed text as the article's next version; an unchanged one
writes nothing.

Why a spider middleware: the decision must be taken before Scrapy's duplicate filter, which
sees a URL once per run. A feed may list an article without a date and the sitemap list it
again with a newer ``lastmod``: the second request must not be filtered as a repeat of the first
(which the seen-URL middleware skips). So a re-fetch is sent with ``dont_filter``, at most once per
article and run, and only at the article's own canonical URL (an alias or a syndicated copy's
URL may serve another text). It is conditional (``If-None-Match`` / ``If-Modified-Since`` from
the validators the state kept): an unchanged page costs a 304.
Stats: ``autonews/recheck/requested``; ``autonews/recheck/not_modified`` (the spider, on a 304).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.discovery.dates import as_utc
from pipelines.dedupe.urls import canonicalize_url
from pipelines.state.backend import open_store
from pipelines.state.store import StoredArticle


class RecheckMiddleware(BaseSpiderMiddleware):
    """Mark article requests of stored articles that are due for a re-fetch (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`; reads ``AUTONEWS_RECHECK_DAYS``."""
        super().__init__(crawler)
        self.recheck_days = crawler.settings.getfloat("AUTONEWS_RECHECK_DAYS", 0.0)
        # Articles stored or re-fetched since this moment were fetched by this run: never again. (Not
        # truncated: the state keeps whole seconds, so a previous run's fetch always compares earlier.)
        self.started = datetime.now(timezone.utc)
        self.rechecked: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecheckMiddleware:
        """Build the middleware; NotConfigured when ``AUTONEWS_SKIP_SEEN`` is off (``autonews scrape``: no
        stored article is skipped, so none is re-fetched either)."""
        if not crawler.settings.getbool("AUTONEWS_SKIP_SEEN", True):
            raise NotConfigured  # no message: switched off on purpose (AUTONEWS_SKIP_SEEN is off), not worth a WARNING
        return cls(crawler)

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        """Return the request, as a conditional re-fetch when its stored article is due for one."""
        if request.meta.get("autonews_kind") != "article" or request.meta.get("autonews_recheck"):
            return request
        if not request.meta.get("autonews_modified") and self.recheck_days <= 0:
            return request  # nothing could make it due: no state lookup
        url = canonicalize_url(request.url)
        if url in self.rechecked:
            return request
        stored = open_store(self.crawler).find_article(url)
        if stored is None or not self.due(request, url, stored):
            return request
        self.rechecked.add(url)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("autonews/recheck/requested")
        headers = dict(request.headers)
        if stored.etag:
            headers[b"If-None-Match"] = stored.etag.encode("latin-1")
        if stored.last_modified:
            headers[b"If-Modified-Since"] = stored.last_modified.encode("latin-1")
        meta = {**request.meta, "autonews_recheck": True,
                "handle_httpstatus_list": [*request.meta.get("handle_httpstatus_list", ()), 304]}
        return request.replace(dont_filter=True, headers=headers, meta=meta)

    def due(self, request: Request, url: str, stored: StoredArticle) -> bool:
        """True when the stored article at ``url`` should be fetched again."""
        last = stored.checked or stored.first_seen
        if stored.canonical_url != url or stored.fingerprint is None or last >= self.started:
            return False  # an alias or a copy's URL (no text of its own), or fetched by this run
        modified = as_utc(request.meta.get("autonews_modified"))
        if modified is not None and modified > last:
            return True
        return self.recheck_days > 0 and self.started - stored.first_seen < timedelta(days=self.recheck_days)
