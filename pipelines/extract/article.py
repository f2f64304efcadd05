"""Article extraction: a pure ``extract_article`` function and the thin Scrapy pipeline around it."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pipelines.extract.authors import clean_authors
from pipelines.extract.dateline import visible_date
from pipelines.extract.html import decode_body, parse_html
from pipelines.extract.listing import is_listing
from pipelines.extract.meta import (
    MODIFIED_META,
    PUBLISHED_META,
    canonical_url,
    declared_languages,
    first_date,
    jsonld_objects,
    keywords,
    meta_values,
    normalize_date,
    raw_authors,
)
from pipelines.extract.text import best_text, main_text, page_metadata, split_lines
from pipelines.pool import cpu_pool

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# below these a page is a section front, a stub or an error page rather than an article
MIN_TEXT_CHARS = 300
MIN_PARAGRAPHS = 2


def _dedupe(values: list[str]) -> list[str]:
    """Keep the first occurrence of each value (case-insensitive), dropping blanks."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = " ".join(value.split())
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def extract_article(body: bytes | str, url: str, encoding: str | None = None, *, min_chars: int = MIN_TEXT_CHARS,
                    min_paragraphs: int = MIN_PARAGRAPHS) -> dict[str, Any] | None:
    """Extract text and metadata from one HTML page; None when it is not an article.

    Pure and picklable (bytes in, plain dict out) so it can run in a process pool. A page is not an
    article when it cannot be decoded or parsed, or its main text is under ``min_chars`` characters or
    ``min_paragraphs`` paragraphs, or is mostly link texts (a listing). Keys starting with "_" are hints
    for later pipelines.
    """
    text = decode_body(body, encoding)
    tree = parse_html(text) if text is not None else None
    if tree is None:
        return None
    text = best_text(tree, url)
    if text is None:
        return None
    page = page_metadata(tree, url)
    objects, meta = jsonld_objects(tree), meta_values(tree)
    ld_title = next((o["headline"] for o in objects if isinstance(o.get("headline"), str)), None)
    title = page.title or ld_title or None
    headings = [title, ld_title, meta.get("og:title"), meta.get("twitter:title")]
    headings += [" ".join(h.text_content().split()) for h in tree.iter("h1")][:2]
    main = main_text(tree, url, text, headings)
    lines = split_lines(main)
    if text_weight(main) < min_chars or len(lines) < min_paragraphs or is_listing(tree, lines):
        return None

    published = (first_date(objects, meta, "datePublished", PUBLISHED_META) or normalize_date(page.date)
                 or visible_date(tree))
    return {
        "title": title,
        "authors": clean_authors(raw_authors(objects, meta) or (page.author or "").split(";")),
        "published": published,
        "modified": first_date(objects, meta, "dateModified", MODIFIED_META),
        "description": page.description or None,
        "site_name": page.sitename or None,
        "image": page.image or None,
        "tags": _dedupe(list(page.categories or []) + list(page.tags or []) + keywords(objects, meta)),
        "text": main,
        "_declared_languages": declared_languages(tree, meta),
        "_canonical": canonical_url(tree, meta, url),
    }


def text_weight(text: str) -> int:
    """Length of ``text`` in Latin-script characters: a CJK character carries about three.

    A full Chinese or Japanese news item can be 250 characters long; counted as is, the
    minimum length made for alphabetic scripts would take it for a page that is not an article.
    """
    wide = sum(1 for ch in text if "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return len(text) + 2 * wide


class ExtractPipeline:
    """Replaces the page body with the extracted record fields; drops pages that are not articles."""

    def __init__(self, crawler: Crawler, min_chars: int = MIN_TEXT_CHARS) -> None:
        self.crawler = crawler
        self.min_chars = min_chars

    @property
    def stats(self) -> Any:
        """The crawler's stats collector (looked up late: it may be created after this pipeline)."""
        return self.crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Build from settings (AUTONEWS_MIN_TEXT_CHARS)."""
        return cls(crawler, crawler.settings.getint("AUTONEWS_MIN_TEXT_CHARS", MIN_TEXT_CHARS))

    def process(self, item: dict[str, Any]) -> dict[str, Any]:
        """Extract inline (no process pool) and merge the fields into the item."""
        body = item.pop("body", b"")
        return self.merge(item, extract_article(body, item["url"], item.get("encoding"), min_chars=self.min_chars))

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Extract in the crawl's process pool, so the reactor keeps fetching meanwhile."""
        body = item.pop("body", b"")
        extract = partial(extract_article, min_chars=self.min_chars)
        fields = await cpu_pool(self.crawler).run(extract, body, item["url"], item.get("encoding"))
        return self.merge(item, fields)

    def merge(self, item: dict[str, Any], fields: dict[str, Any] | None) -> dict[str, Any]:
        """Merge extracted fields into the page item; drop it when it is not an article."""
        if fields is None:
            # imported here: pool workers import this module for extract_article and need no Scrapy (44 MB each)
            from scrapy.exceptions import DropItem

            self.stats.inc_value("autonews/not_article")
            raise DropItem(f"not an article: {item['url']}")
        declared = fields["_declared_languages"]
        content_language = (item.get("content_language") or "").split(",")[0].strip().split("-")[0].lower()
        if content_language.isalpha() and len(content_language) == 2 and content_language not in declared:
            declared.append(content_language)
        item.update(fields)
        if item["published"] is None:
            item["published"] = normalize_date(item.get("feed_published"))
        if item["published"] is None:
            flags = item.setdefault("flags", [])
            if "no_date" not in flags:
                flags.append("no_date")
        self.stats.inc_value("autonews/extracted")
        return item
