"""Item pipeline around ``extract_article``: page in, article out, in the crawl's process pool."""

from __future__ import annotations

from dataclasses import fields as fields_of
from functools import partial

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from pipelines.extract.article import extract_article
from pipelines.extract.limits import MIN_TEXT_CHARS
from pipelines.items import Article, ExtractedPage, PageItem
from pipelines.language.codes import parse_declared
from pipelines.pool import cpu_pool
from pipelines.sanitize import clean_value


#: What extraction finds that the article keeps as it is.
CONTENT_FIELDS = tuple(f.name for f in fields_of(ExtractedPage) if f.name not in ("published", "declared_languages"))


def to_article(page: PageItem, fields: ExtractedPage) -> Article:
    """Merge a page and what extraction found in it into an article.

    The page's own date wins over the feed's; a page with neither is flagged ``no_date``.
    Strings are cleaned (``pipelines.sanitize``).
    Declared languages: the page's, then the Content-Language header's.
    """
    published = fields.published or page.feed_published
    # Page text can hold lone surrogates (JSON-LD escapes) and control characters: cleaned here,
    # before dedupe claims the article, so its record can always be written.
    content = {name: clean_value(getattr(fields, name)) for name in CONTENT_FIELDS}
    return Article(
        url=page.url,
        request_url=page.request_url,
        source=page.source,
        fetched_at=page.fetched_at,
        expected_language=page.expected_language,
        source_domains=page.source_domains,
        etag=page.etag,
        last_modified=page.last_modified,
        recheck=page.recheck,
        **content,
        published=published,
        declared_languages=parse_declared([*fields.declared_languages, *page.content_languages]),
        flags=[] if published else ["no_date"],
    )


class ExtractPipeline:
    """Turns a :class:`PageItem` into an :class:`Article`; drops pages that are not articles."""

    def __init__(self, crawler: Crawler, min_chars: int = MIN_TEXT_CHARS) -> None:
        self.crawler = crawler
        self.min_chars = min_chars

    @property
    def stats(self) -> StatsCollector:
        """The crawler's stats collector (looked up late: it may be created after this pipeline)."""
        assert self.crawler.stats is not None
        return self.crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Build from settings (AUTONEWS_MIN_TEXT_CHARS)."""
        return cls(crawler, crawler.settings.getint("AUTONEWS_MIN_TEXT_CHARS", MIN_TEXT_CHARS))

    async def process_item(self, page: PageItem) -> Article:
        """Extract in the crawl's process pool (inline with ``AUTONEWS_POOL_PROCESSES=0``), so the reactor keeps fetching."""
        body, page.body = page.body, b""  # the raw HTML never travels further (nor into a DropItem log line)
        extract = partial(extract_article, min_chars=self.min_chars)
        fields = await cpu_pool(self.crawler).run(extract, body, page.url, page.encoding)
        if fields is None:
            self.stats.inc_value("autonews/not_article")
            raise DropItem(f"not an article: {page.url}")
        self.stats.inc_value("autonews/extracted")
        return to_article(page, fields)
