"""Item pipeline around ``extract_article``: page in, article out, in the crawl's process pool.

The pool task is ``pipelines.analysis.analyse_page``: with the extraction it computes what the later
stages asked for of the article's text (language, dedupe keys), so a page crosses the pool once.
"""

from __future__ import annotations

from dataclasses import fields as fields_of
from functools import partial
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

# not pipelines.extract.article: this process only names analyse_page to the pool (see pipelines.analysis)
from pipelines.analysis import analyse_page, analysis_plan, article_declared_languages
from pipelines.extract.dates import after
from pipelines.extract.limits import MIN_TEXT_CHARS
from pipelines.items import Article, ExtractedPage, PageItem
from pipelines.extract.bounds import PageRefused
from pipelines.pool import TaskFailed, cpu_pool
from pipelines.stats import count_error
from pipelines.sanitize import clean_value


#: What extraction finds that the article keeps as it is.
CONTENT_FIELDS = tuple(f.name for f in fields_of(ExtractedPage)
                       if f.name not in ("published", "published_from", "declared_languages", "flags", "amp_canonical",
                                         "bounded"))


def _amp_target(page: PageItem, canonical: str | None) -> str | None:
    """An AMP page's canonical URL when it is on the page's own host or the source's domains (a canonical
    elsewhere is not believed: it could name another source's article)."""
    host = (urlsplit(canonical or "").hostname or "").lower()
    if not host:
        return None
    own = {(urlsplit(page.url).hostname or "").lower(), *page.source_domains}
    own_hosts = {h.removeprefix("www.") for h in own if h}
    bare = host.removeprefix("www.")
    if any(bare == h or bare.endswith("." + h) or h.endswith("." + bare) for h in own_hosts):
        return canonical
    return None


def to_article(page: PageItem, fields: ExtractedPage) -> Article:
    """Merge a page and what extraction found in it into an article.

    The page's own date wins over the feed's (or sitemap's); ``published_from`` says which it is. A date
    later than the fetch is not a publication date and is dropped. A page with no date is flagged
    ``no_date``; the page types extraction found (``paywalled``, ``live_blog``) are flags too.
    Strings are cleaned (``pipelines.sanitize``).
    Declared languages: the page's, then the Content-Language header's.
    """
    published, published_from = fields.published, fields.published_from
    if after(published, page.fetched_at):
        published = published_from = None
    if not published and page.feed_published and not after(page.feed_published, page.fetched_at):
        published, published_from = page.feed_published, page.feed_published_from
    # Page text can hold lone surrogates (JSON-LD escapes) and control characters: cleaned here,
    # before dedupe claims the article, so its record can always be written.
    content = {name: clean_value(getattr(fields, name)) for name in CONTENT_FIELDS}
    return Article(
        url=_amp_target(page, fields.amp_canonical) or page.url,
        request_url=page.request_url,
        source=page.source,
        fetched_at=page.fetched_at,
        expected_language=page.expected_language,
        source_domains=page.source_domains,
        etag=page.etag,
        last_modified=page.last_modified,
        recheck=page.recheck,
        warc=page.warc,
        **content,
        published=published,
        published_from=published_from,
        declared_languages=article_declared_languages(fields.declared_languages, page.content_languages),
        flags=list(fields.flags) + ([] if published else ["no_date"]),
    )


class NotAnArticle(DropItem):
    """A page dropped because it holds no article (``autonews/not_article``): the seen-URL middleware
    remembers its URL so it is not fetched again for ``AUTONEWS_NOT_ARTICLE_DAYS``."""


class ExtractPipeline:
    """Turns a :class:`PageItem` into an :class:`Article`; drops pages that are not articles."""

    task = staticmethod(analyse_page)  # what runs in the pool (a test's subclass may slow it down)

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
        """Extract in the crawl's process pool (inline with ``AUTONEWS_POOL_PROCESSES=0``), so the reactor keeps
        fetching; the article carries the analysis of its text that the later stages asked for."""
        body, page.body = page.body, b""  # the raw HTML never travels further (nor into a DropItem log line)
        analyse = partial(self.task, min_chars=self.min_chars, plan=analysis_plan(self.crawler))
        try:
            found = await cpu_pool(self.crawler).run(analyse, body, page.url, page.encoding, page.content_languages)
        except (PageRefused, TaskFailed) as exc:
            # too deep to parse whole, over AUTONEWS_PAGE_TIMEOUT, or its worker died twice: an error, never
            # a silent "not an article" (and never stored, so never marked seen)
            count_error(self.stats, exc.label, page.source)
            raise DropItem(f"{exc}: {page.url}") from None
        if found is None:
            self.stats.inc_value("autonews/not_article")
            raise NotAnArticle(f"not an article: {page.url}")
        self.stats.inc_value("autonews/extracted")
        for bound in found.fields.bounded:
            self.stats.inc_value(f"autonews/bounded/{bound}")
        article = to_article(page, found.fields)
        article.analysis = found.analysis
        return article
