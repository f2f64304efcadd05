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

The budget (README "Updated articles"), so that a site cannot make every run fetch everything again:

- a date later than now (a sitemap ``lastmod`` in 2099) is not believed: the entry counts as undated
  (``autonews/recheck/future_modified``);
- no article is fetched again sooner than ``AUTONEWS_RECHECK_MIN_HOURS`` after its last fetch
  (``autonews/recheck/too_soon``). The last fetch is the latest of the article's stored ``checked``
  and the check the state remembers for its URL (``DedupeStore.record_check``), which this middleware
  records for every re-fetch answered, a 304, 404 or 410 included: an article whose date moved once
  is fetched once, not every run;
- at most ``AUTONEWS_MAX_RECHECKS_PER_SOURCE`` re-fetches per source and run, in discovery order
  (``autonews/recheck/skipped_cap``, ``autonews/source/<name>/recheck_skipped_cap``). Re-fetches do not
  count against ``AUTONEWS_MAX_ARTICLES_PER_SOURCE`` (a stored article's URL never did) and that cap
  does not limit them: each has its own.

Stats: ``autonews/recheck/requested``; ``autonews/recheck/not_modified`` (the spider, on a 304).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.discovery.dates import as_utc
from crawler.discovery.limits import MAX_RECHECKS_PER_SOURCE, RECHECK_MIN_HOURS
from pipelines.dedupe.urls import canonicalize_url
from pipelines.state.backend import open_store
from pipelines.state.store import StoredArticle

logger = logging.getLogger(__name__)

GONE = frozenset({404, 410})
"""Answers to a re-fetch that are final: the check is recorded like a 200's."""


class RecheckMiddleware(BaseSpiderMiddleware):
    """Mark article requests of stored articles that are due for a re-fetch (see the module docstring)."""

    def __init__(self, crawler: Crawler) -> None:
        """Use :meth:`from_crawler`; reads ``AUTONEWS_RECHECK_DAYS``, ``AUTONEWS_RECHECK_MIN_HOURS`` and
        ``AUTONEWS_MAX_RECHECKS_PER_SOURCE``."""
        super().__init__(crawler)
        settings = crawler.settings
        self.recheck_days = settings.getfloat("AUTONEWS_RECHECK_DAYS", 0.0)
        self.min_interval = timedelta(hours=max(0.0, settings.getfloat("AUTONEWS_RECHECK_MIN_HOURS", RECHECK_MIN_HOURS)))
        self.max_rechecks = settings.getint("AUTONEWS_MAX_RECHECKS_PER_SOURCE", MAX_RECHECKS_PER_SOURCE)
        self.per_source: Counter[str] = Counter()  # re-fetches sent this run
        self.capped: set[str] = set()  # sources whose recheck cap was logged
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
        modified = self.believed(request.meta.get("autonews_modified"))
        if modified is None and self.recheck_days <= 0:
            return request  # nothing could make it due: no state lookup
        url = canonicalize_url(request.url)
        if url in self.rechecked:
            return request
        stored = open_store(self.crawler).find_article(url)
        if stored is None or not self.due(url, stored, modified):
            return request
        source = str(request.meta.get("autonews_source", ""))
        if 0 < self.max_rechecks <= self.per_source[source]:
            self.over_cap(source)
            return request  # an ordinary request again: the seen-URL middleware skips it, no fetch
        self.rechecked.add(url)
        self.per_source[source] += 1
        self._inc("autonews/recheck/requested")
        headers = dict(request.headers)
        if stored.etag:
            headers[b"If-None-Match"] = stored.etag.encode("latin-1")
        if stored.last_modified:
            headers[b"If-Modified-Since"] = stored.last_modified.encode("latin-1")
        meta = {**request.meta, "autonews_recheck": True,
                "handle_httpstatus_list": [*request.meta.get("handle_httpstatus_list", ()), 304]}
        return request.replace(dont_filter=True, headers=headers, meta=meta)

    def process_spider_input(self, response: Response) -> None:
        """Record the check of a re-fetched article answered for good: whatever the page says (a 304
        too), or that it is gone (404, 410), so the next run knows it was fetched now. Other errors (5xx,
        429, 403: often passing) are not recorded and may be retried next run. (Ordered before Scrapy's
        HttpErrorMiddleware, which would keep the 404 from this method.)"""
        if response.meta.get("autonews_recheck") and (response.status < 400 or response.status in GONE):
            requested = response.meta.get("redirect_urls", [response.url])[0]  # the article's URL, before redirects
            open_store(self.crawler).record_check(canonicalize_url(requested), datetime.now(timezone.utc))

    def believed(self, value: Any) -> datetime | None:
        """The entry's date as UTC, or None when it has none or claims a moment still to come (counted)."""
        modified = as_utc(value)
        if modified is not None and modified > datetime.now(timezone.utc):
            self._inc("autonews/recheck/future_modified")
            return None
        return modified

    def due(self, url: str, stored: StoredArticle, modified: datetime | None) -> bool:
        """True when the stored article at ``url`` should be fetched again (``modified``: its believed date)."""
        if stored.canonical_url != url or stored.fingerprint is None:
            return False  # an alias or a copy's URL (no text of its own)
        memory = open_store(self.crawler).url_memory(url)
        fetches = [m for m in (stored.checked, memory.checked if memory else None) if m is not None]
        last = max(fetches) if fetches else stored.first_seen  # first_seen: stored before fetches were kept
        if last >= self.started:
            return False  # fetched by this run
        wanted = (modified is not None and modified > last) or (
            self.recheck_days > 0 and self.started - stored.first_seen < timedelta(days=self.recheck_days))
        if wanted and self.started - last < self.min_interval:
            self._inc("autonews/recheck/too_soon")
            return False
        return wanted

    def over_cap(self, source: str) -> None:
        """Count (and log once per source) a re-fetch left out for the source's ``AUTONEWS_MAX_RECHECKS_PER_SOURCE``."""
        self._inc("autonews/recheck/skipped_cap")
        self._inc(f"autonews/source/{source}/recheck_skipped_cap")
        if source not in self.capped:
            self.capped.add(source)
            logger.warning("Source %s: %d stored articles re-fetched in this run, the most "
                           "AUTONEWS_MAX_RECHECKS_PER_SOURCE allows; further ones wait for a later run",
                           source, self.max_rechecks)

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)
