"""Article discovery from feeds and sitemaps: pure functions, bytes in.

Nothing here touches the network or Scrapy; the spider downloads bodies and hands
them over. All XML goes through `crawler.discovery.safexml`, which is safe against
gzip bombs, entity expansion and XXE, and streams documents instead of building
them whole. Feed parsing lives in `crawler.discovery.feeds`; how many URLs one
document may yield, in `crawler.discovery.limits`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.discovery.dates import normalize_feed_date, parse_date
from crawler.discovery.feeds import (
    FEED_ITEM_TAGS,
    FEED_ROOTS,
    Entry,
    EntryList,
    FeedResult,
    absolute_url,
    add_feed_item,
    has_other_scheme,
    latest_date,
    parse_feed,
    read_feed,
)
from crawler.discovery.limits import MAX_INDEX_SITEMAPS, MAX_SITEMAP_URLS
from crawler.discovery.safexml import (
    MAX_SIZE,
    DiscoveryError,
    local_name,
    read_body,
    scan_xml,
    text_of,
)

__all__ = [
    "MAX_INDEX_SITEMAPS",
    "MAX_SITEMAP_URLS",
    "DiscoveryError",
    "Entry",
    "FeedResult",
    "SitemapResult",
    "is_recent",
    "parse_feed",
    "parse_sitemap",
    "read_feed",
]
# What a sitemap document may hold: index children, urlset entries, or (feed as sitemap) items.
_SITEMAP_TAGS = ("{*}sitemap", "{*}url", *FEED_ITEM_TAGS)


@dataclass(frozen=True)
class SitemapResult:
    """A parsed sitemap: child sitemaps (for an index) and article entries (for a urlset).

    Each child is an Entry whose `published` is its <lastmod> (None if absent), so
    the spider's --since filter can skip an index's old monthly archives unfetched.
    What was left out is counted: children and entries listed beyond the caps
    (`MAX_INDEX_SITEMAPS`, `MAX_SITEMAP_URLS`) and entries whose URL is not http(s).
    The counts are left out of equality: two results are equal when they list the same things.
    """

    children: list[Entry]
    entries: list[Entry]
    children_over_cap: int = field(default=0, compare=False)
    entries_over_cap: int = field(default=0, compare=False)
    not_http: int = field(default=0, compare=False)


def parse_sitemap(body: bytes, url: str, max_size: int = MAX_SIZE, max_urls: int = MAX_SITEMAP_URLS,
                  max_children: int = MAX_INDEX_SITEMAPS) -> SitemapResult:
    """Parse a sitemap index, urlset (incl. Google News), text sitemap or feed-as-sitemap.

    Gzip is detected by magic bytes, not by name. For Google News entries
    `published` is news:publication_date, falling back to <lastmod>; the title is
    news:title. An index listing itself is not returned as its own child. At most
    `max_urls` entries and `max_children` children are returned, in document order;
    the document is streamed, so what lies beyond costs parse time, not memory.
    """
    data = read_body(body, max_size)
    if not data.strip():
        raise DiscoveryError(f"{url}: empty sitemap")
    if not _looks_like_xml(data):
        found = _text_sitemap(data, url, max_urls)
        return SitemapResult([], found.entries, entries_over_cap=found.over_cap, not_http=found.not_http)
    root, reader = scan_xml(data, url, _SITEMAP_TAGS, lambda elements: _SitemapReader(url, max_urls, max_children)
                            .read(elements))
    kind = local_name(root).lower()
    if kind not in ("sitemapindex", "urlset") and kind not in FEED_ROOTS:
        raise DiscoveryError(f"{url}: not a sitemap (root element <{local_name(root)}>)")
    children, entries = reader.children, reader.entries
    return SitemapResult(children.entries, entries.entries, children.over_cap, entries.over_cap,
                         children.not_http + entries.not_http)


class _SitemapReader:
    """Collects the children of an index, the <url>s of a urlset or the items of a feed, as streamed.

    The kind is the root element's name, known from the first streamed element on;
    elements that do not belong to it (a <sitemap> in a urlset) are ignored, as before.
    """

    def __init__(self, url: str, max_urls: int, max_children: int) -> None:
        self.url = url
        self.own = _url_key(url)
        self.children = EntryList(max_children)
        self.entries = EntryList(max_urls)

    def read(self, elements: Iterator[etree._Element]) -> "_SitemapReader":
        """Read every streamed element; return self."""
        kind = ""
        for element in elements:
            if not kind:
                kind = local_name(element.getroottree().getroot()).lower()
            name = local_name(element)
            if kind == "urlset" and name == "url":
                self._url(element)
            elif kind == "sitemapindex" and name == "sitemap":
                self._child(element)
            elif kind in FEED_ROOTS and name in ("item", "entry"):
                add_feed_item(self.entries, element, self.url)
        return self

    def _child(self, node: etree._Element) -> None:
        """A child sitemap of an index, unless a duplicate, the index itself or one too many."""
        if self.children.skip_when_full():
            return
        fields = _child_texts(node)
        raw = fields.get("loc") or ""
        loc = absolute_url(raw, self.url)
        if loc is None:
            self.children.not_http += has_other_scheme(raw)
        elif _url_key(loc) != self.own and self.children.wants(loc):
            self.children.add(Entry(loc, normalize_feed_date(fields.get("lastmod"))))

    def _url(self, node: etree._Element) -> None:
        """An entry of a <urlset>, keeping Google News publication dates and titles."""
        if self.entries.skip_when_full():
            return
        fields = _child_texts(node)
        raw = fields.get("loc") or ""
        loc = absolute_url(raw, self.url)
        if loc is None:
            self.entries.not_http += has_other_scheme(raw)
            return
        if not self.entries.wants(loc):
            return
        news = fields.get("news")
        news_date = normalize_feed_date(news.get("publication_date")) if news else None
        lastmod = normalize_feed_date(fields.get("lastmod"))
        self.entries.add(Entry(loc, news_date or lastmod, news.get("title") if news else None,
                               modified=latest_date((news_date, lastmod))))


def _child_texts(node: etree._Element) -> dict[str, Any]:
    """Texts of `node`'s children by local name (first wins); <news:news> as a nested dict.

    One pass over the children: per-field ElementPath lookups made large sitemaps
    several times slower. Only direct children count, so image:title and
    video:title can never be mistaken for the news title.
    """
    fields: dict[str, Any] = {}
    for child in node:
        name = local_name(child)
        if name and name not in fields:
            fields[name] = _child_texts(child) if name == "news" else text_of(child)
    return fields


def _looks_like_xml(data: bytes) -> bool:
    """True if the body starts (after an optional BOM and whitespace) like XML."""
    head = data[:1024].lstrip()
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    return head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"<"


def _text_sitemap(data: bytes, url: str, cap: int) -> EntryList:
    """Entries of a plain-text sitemap: one absolute URL per line, at most `cap`."""
    found = EntryList(cap)
    for line in data.decode("utf-8", "replace").lstrip("\ufeff").splitlines():
        if "://" not in line:
            continue
        if found.skip_when_full():
            continue
        loc = absolute_url(line, url)
        if loc is None:
            found.not_http += has_other_scheme(line)
        elif found.wants(loc):
            found.add(Entry(loc, None))
    if not found.found and not found.over_cap:
        raise DiscoveryError(f"{url}: neither an XML nor a text sitemap")
    return found


def _url_key(url: str) -> tuple[str, int | None, str, str]:
    """Comparison key treating http/https, host case, default ports and fragments as equal."""
    parts = urlsplit(url)
    try:
        port = parts.port if parts.port not in (80, 443) else None
    except ValueError:  # out-of-range port: compare the URLs as they are
        port = None
    return ((parts.hostname or "").lower(), port, parts.path or "/", parts.query)


def is_recent(entry: Entry, since: datetime | None) -> bool:
    """True if the entry may be newer than `since`; undated or unparseable entries are kept.

    Naive datetimes (on either side) are taken as UTC; a date-only entry is kept
    when its day is not before the day of `since`.
    """
    if since is None or entry.published is None:
        return True
    published = parse_date(entry.published)
    if published is None:
        return True
    if not isinstance(published, datetime):
        return published >= since.date()
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return published >= since
