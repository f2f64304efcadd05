"""Shared spider plumbing: page items, article requests and error accounting."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from twisted.python.failure import Failure

from crawler.health.causes import remember_host
from crawler.middlewares.failures import count_error, count_failure, skip_label
from crawler.middlewares.source_full import SourceFull
from pipelines.extract.html import looks_binary
from pipelines.items import PageItem
from pipelines.language.codes import parse_declared

#: Content types that may hold an article; anything else is skipped and counted.
HTML_TYPES = (b"text/html", b"application/xhtml+xml", b"text/plain", b"")


def utc_now() -> str:
    """Return the current UTC time as an ISO 8601 string with seconds precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def header_value(response: Response, name: str) -> str | None:
    """Return a response header decoded as latin-1, or None when absent."""
    raw = response.headers.get(name)
    return raw.decode("latin-1").strip() if raw else None


def http_charset(response: Response) -> str | None:
    """Return the charset declared in the Content-Type header, if any."""
    ctype = header_value(response, "Content-Type") or ""
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None


class NewsSpiderBase(scrapy.Spider):
    """Base for autonews spiders: turns article responses into page items."""

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Derive the User-Agent from ``AUTONEWS_CONTACT_URL`` unless one was set on the command line."""
        super().update_settings(settings)
        if settings.getpriority("USER_AGENT") < SETTINGS_PRIORITIES["spider"]:
            contact = settings.get("AUTONEWS_CONTACT_URL") or ""
            settings.set("USER_AGENT", f"autonews/0.1 (+{contact})" if contact else "autonews/0.1", priority="spider")

    def article_request(self, url: str, source: str, **meta: Any) -> scrapy.Request:
        """Build a request for a candidate article page."""
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            # Articles are fetched once (the dedupe state skips them next time): never cached.
            meta={"autonews_kind": "article", "autonews_source": source, "dont_cache": True, **meta},
        )

    def parse_article(self, response: Response) -> Any:
        """Yield the raw page item for the pipelines (extraction happens there)."""
        source = response.meta.get("autonews_source", "oneoff")
        self.crawler.stats.inc_value("autonews/targets/done")  # progress of `autonews scrape` (done/total)
        if response.status == 304:  # a conditional re-fetch of a stored article: unchanged
            self.crawler.stats.inc_value("autonews/recheck/not_modified")
            return
        self.crawler.stats.inc_value("autonews/pages/article")
        self.crawler.stats.inc_value(f"autonews/source/{source}/pages")
        ctype = (response.headers.get("Content-Type") or b"").split(b";")[0].strip().lower()
        if ctype not in HTML_TYPES:
            self.crawler.stats.inc_value("autonews/errors/not_html")
            self.logger.warning("Skipping %s: content type %r is not HTML", response.url, ctype.decode("latin-1"))
            return
        # Served as HTML but not a document at all: a server fault, not a page without an article.
        problem = "empty_body" if not response.body.strip() else "binary_body" if looks_binary(response.body) else None
        if problem:
            count_error(self.crawler.stats, problem, source)
            self.logger.warning("Skipping %s: %s (%d bytes)", response.url, problem.replace("_", " "), len(response.body))
            return
        yield PageItem(
            url=response.url,
            request_url=response.meta.get("redirect_urls", [response.url])[0],
            source=source,
            body=response.body,
            fetched_at=utc_now(),
            encoding=http_charset(response),
            content_languages=parse_declared([header_value(response, "Content-Language")]),
            feed_published=response.meta.get("autonews_published"),
            feed_published_from=response.meta.get("autonews_published_from") or "feed",
            expected_language=response.meta.get("autonews_language"),
            source_domains=self.source_domains(source),
            etag=header_value(response, "ETag"),
            last_modified=header_value(response, "Last-Modified"),
            recheck=bool(response.meta.get("autonews_recheck")),
        )

    def source_domains(self, source: str) -> tuple[str, ...]:
        """Host names of a registry source (its feeds, sitemaps, start URLs and ``domains:``); none for others."""
        registry = getattr(self, "sources", None) or {}
        entry = registry.get(source)
        return entry.domains() if entry is not None else ()

    def skip_sitemaps(self, name: str, count: int = 1) -> None:
        """Count sitemaps of a source whose cap is full, left unfetched, unparsed or unscheduled."""
        self.crawler.stats.inc_value("autonews/skipped/sitemap_source_full", count)
        self.crawler.stats.inc_value(f"autonews/source/{name}/skipped_sitemaps", count)

    def child_answered(self, request: scrapy.Request) -> None:
        """A child sitemap request failed or was left out; spiders that pace children override this."""

    def count_discovery_failure(self, source: str, label: str, host: str = "") -> None:
        """Count a feed, sitemap or section page that was not fetched or parsed, per source, with its
        cause class (``autonews/source/<name>/discovery/errors/<label>``) and the hosts involved."""
        stats = self.crawler.stats
        prefix = f"autonews/source/{source}/discovery/"
        stats.inc_value(prefix + "failed")
        stats.inc_value(f"{prefix}errors/{label}")
        key = f"{prefix}hosts/{label}"
        stats.set_value(key, remember_host(stats.get_value(key), host))

    def on_error(self, failure: Failure) -> None:
        """Count and log a failed request; the crawl goes on."""
        request = getattr(failure, "request", None)
        source = request.meta.get("autonews_source", "oneoff") if request is not None else "unknown"
        if failure.check(SourceFull):  # not a failure: the source's cap is full (crawler.middlewares.source_full)
            self.skip_sitemaps(source)
            if request is not None:
                self.child_answered(request)
            return
        label = count_failure(self.crawler.stats, failure, source)
        url = request.url if request is not None else "?"
        if request is not None and request.meta.get("autonews_kind") == "discovery":
            # A feed, sitemap or section page not fetched (also robots.txt-excluded): run health, discovery,
            # by cause and host, so that the health line can say why and how to fix it.
            self.count_discovery_failure(source, label or skip_label(failure), urlsplit(url).hostname or "")
            if request.meta.get("autonews_child_sitemap"):
                self.child_answered(request)
        else:
            self.crawler.stats.inc_value("autonews/targets/done")
            if label is not None:  # an article fetch that failed (run health: mostly 4xx/5xx is degraded)
                self.crawler.stats.inc_value(f"autonews/source/{source}/fetch_failed/{label}")
        if label is None:
            self.logger.debug("Skipped %s: %s", url, failure.value)
        else:
            self.logger.warning("Request failed (%s): %s", label, url)
