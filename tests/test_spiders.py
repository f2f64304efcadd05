"""Spider callbacks on canned responses: feeds, sitemaps (news, index, gzip), section pages, articles."""

from __future__ import annotations

import asyncio
import gzip
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, TextResponse, XmlResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.test import get_crawler

from crawler.spiders.news import NewsSpider
from pipelines.items import PageItem
from crawler.spiders.scrape import ScrapeSpider, to_url

REGISTRY = """sources:
  - name: site
    feeds: ['http://news.example/feed.xml']
    sitemaps: ['http://news.example/sitemap.xml']
    start_urls: ['http://news.example/news/']
    allow: ['/20\\d\\d/']
    deny: ['/tag/']
    language: en
    download_delay: 2
"""

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>http://news.example/2026/01/one/</link><pubDate>Tue, 06 Jan 2026 10:00:00 GMT</pubDate></item>
<item><title>Two</title><link>/2026/01/two/</link></item></channel></rss>"""

NEWS_SITEMAP = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>http://news.example/2026/02/three/</loc>
<news:news><news:publication_date>2026-02-03T04:05:06+00:00</news:publication_date><news:title>Three</news:title>
</news:news></url></urlset>"""

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.example/sitemap-news.xml.gz</loc></sitemap></sitemapindex>"""

DATED_INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.example/sitemap-2026-02.xml</loc><lastmod>2026-02-03T04:05:06+00:00</lastmod></sitemap>
<sitemap><loc>http://news.example/sitemap-2019-01.xml</loc><lastmod>2019-01-31</lastmod></sitemap>
<sitemap><loc>http://news.example/sitemap-undated.xml</loc></sitemap>
<sitemap><loc>http://news.example/sitemap-bad-date.xml</loc><lastmod>last year</lastmod></sitemap>
</sitemapindex>"""

SECTION = b"""<html><body><a href="/2026/03/four/">Four</a> <a href="/tag/ev/">tag</a>
<a href="http://elsewhere.example/2026/03/five/">offsite</a> <a href="http://cdn.news.example/2026/03/six/">sub</a>
<a href="/about/">about</a></body></html>"""


@pytest.fixture
def spider(tmp_path: Path) -> NewsSpider:
    registry = tmp_path / "sources.yaml"
    registry.write_text(REGISTRY)
    crawler = get_crawler(NewsSpider, {"AUTONEWS_SOURCES": str(registry)})
    spider = NewsSpider.from_crawler(crawler)
    crawler.spider = spider
    return spider


def meta(kind: str = "discovery", **extra: Any) -> dict[str, Any]:
    return {"autonews_kind": kind, "autonews_source": "site", **extra}


def respond(cls: type, url: str, body: bytes, **extra: Any) -> Any:
    return cls(url, body=body, request=Request(url, meta=meta(**extra)))


def test_start_yields_one_request_per_discovery_url(spider: NewsSpider) -> None:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    requests = asyncio.run(collect())
    assert [r.url for r in requests] == ["http://news.example/feed.xml", "http://news.example/sitemap.xml",
                                         "http://news.example/news/"]
    assert all(r.meta["autonews_kind"] == "discovery" for r in requests)
    assert all(r.headers.get("Cache-Control") == b"max-age=0" for r in requests)


def test_per_source_delay_becomes_a_download_slot(tmp_path: Path) -> None:
    registry = tmp_path / "sources.yaml"
    registry.write_text(REGISTRY)
    crawler = Crawler(NewsSpider, {"AUTONEWS_SOURCES": str(registry)})  # settings not yet frozen, as in a crawl
    NewsSpider.from_crawler(crawler)
    assert crawler.settings.getdict("DOWNLOAD_SLOTS")["news.example"] == {"delay": 2}


def test_feed_entries_become_article_requests(spider: NewsSpider) -> None:
    out = list(spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", FEED)))
    assert [r.url for r in out] == ["http://news.example/2026/01/one/", "http://news.example/2026/01/two/"]
    assert out[0].meta["autonews_kind"] == "article" and out[0].meta["dont_cache"] is True
    assert out[0].meta["autonews_published"].startswith("2026-01-06T10:00:00")
    assert out[1].meta["autonews_published"] is None
    # where the date came from travels with it: the record's published_from when the page has none
    assert out[0].meta["autonews_published_from"] == "feed" and out[1].meta["autonews_published_from"] is None
    assert out[0].meta["autonews_language"] == "en"


def test_news_sitemap_keeps_publication_date(spider: NewsSpider) -> None:
    [request] = spider.parse_sitemap(respond(XmlResponse, "http://news.example/sitemap.xml", NEWS_SITEMAP))
    assert request.url == "http://news.example/2026/02/three/"
    assert request.meta["autonews_published"] == "2026-02-03T04:05:06+00:00"
    assert request.meta["autonews_published_from"] == "sitemap"


def test_sitemap_index_and_gzip_children(spider: NewsSpider) -> None:
    [child] = spider.parse_sitemap(respond(XmlResponse, "http://news.example/sitemap.xml", INDEX))
    assert child.url == "http://news.example/sitemap-news.xml.gz" and child.callback == spider.parse_sitemap
    gz = respond(TextResponse, child.url, gzip.compress(NEWS_SITEMAP))
    [article] = spider.parse_sitemap(gz)
    assert article.url == "http://news.example/2026/02/three/"


def test_since_skips_child_sitemaps_last_modified_before_it(spider: NewsSpider) -> None:
    index = respond(XmlResponse, "http://news.example/sitemap.xml", DATED_INDEX)
    spider.children.in_flight = 100  # all at once: what is fetched, not when (crawler/spiders/children.py)
    assert len(list(spider.parse_sitemap(index))) == 4  # no --since: every child is fetched
    spider.children.idle()  # those four answered
    spider.since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    children = list(spider.parse_sitemap(index))
    # Undated (or unparseably dated) children are always fetched, as undated entries are kept.
    assert [r.url for r in children] == ["http://news.example/sitemap-2026-02.xml",
                                         "http://news.example/sitemap-undated.xml",
                                         "http://news.example/sitemap-bad-date.xml"]
    assert all(r.callback == spider.parse_sitemap and r.meta["autonews_kind"] == "discovery" for r in children)
    assert spider.crawler.stats.get_value("autonews/skipped/too_old_sitemap") == 1
    assert spider.crawler.stats.get_value("autonews/skipped/too_old") is None  # articles only


def test_broken_feed_is_counted_not_raised(spider: NewsSpider) -> None:
    assert list(spider.parse_feed(respond(TextResponse, "http://news.example/feed.xml", b"\x00\xffnot xml"))) == []
    assert spider.crawler.stats.get_value("autonews/errors/feed_parse") == 1


def test_section_page_follows_allowed_links_on_the_sources_hosts(spider: NewsSpider) -> None:
    out = list(spider.parse_section(respond(HtmlResponse, "http://news.example/news/", SECTION, autonews_depth=0)))
    assert sorted(r.url for r in out) == ["http://cdn.news.example/2026/03/six/", "http://news.example/2026/03/four/"]
    assert all(r.meta["autonews_depth"] == 1 for r in out)


def test_section_links_are_filtered_by_the_registrys_own_rule(spider: NewsSpider) -> None:
    page = b"""<html><body><a href="/2026/03/tag/seven/">allowed, then denied</a>
<a href="/2026/03/four/">Four</a> <a href="/2026/03/four/">Four again</a>
<a href="/2026/03/eight/?ref=tag">query</a> <a href="/2026/03/chart.png">image</a>
<a href="http://NEWS.example:8080/2026/03/nine/">other port</a> <a href="mailto:x@news.example">mail</a></body></html>"""
    response = respond(HtmlResponse, "http://news.example/news/", page, autonews_depth=0)
    out = [r.url for r in spider.parse_section(response)]
    # Deduplicated, ignored extensions dropped, host checked by name (any port), as before.
    assert out == ["http://news.example/2026/03/four/", "http://news.example/2026/03/eight/?ref=tag",
                   "http://news.example:8080/2026/03/nine/"]
    source = spider.sources["site"]
    assert not source.follows("http://news.example/2026/03/tag/seven/")  # the deny pattern is honoured
    # Same links as LinkExtractor's own allow/deny (both search the regexes in the absolute URL).
    for body in (page, SECTION):
        response = respond(HtmlResponse, "http://news.example/news/", body, autonews_depth=0)
        old = LinkExtractor(allow=source.allow, deny=source.deny).extract_links(response)
        on_hosts = [link.url for link in old if urlsplit(link.url).hostname in ("news.example", "cdn.news.example")]
        assert [r.url for r in spider.parse_section(response)] == on_hosts


def test_article_page_becomes_a_page_item_and_depth_is_bounded(spider: NewsSpider) -> None:
    response = respond(HtmlResponse, "http://news.example/2026/03/four/", SECTION, kind="article",
                       autonews_depth=1, autonews_published="2026-03-01")
    [item] = list(spider.parse_article(response))  # max_depth 1: no links followed from here
    assert isinstance(item, PageItem)
    assert item.body == SECTION and item.source == "site" and item.feed_published == "2026-03-01"
    assert item.url == "http://news.example/2026/03/four/"


def test_page_item_carries_the_content_language_header_normalised(spider: NewsSpider) -> None:
    response = respond(HtmlResponse, "http://news.example/2026/03/four/", SECTION, kind="article")
    response = response.replace(headers={"Content-Type": "text/html; charset=utf-8",
                                         "Content-Language": "nl-NL, en;q=0.5"})
    [item] = list(spider.parse_article(response))
    assert item.content_languages == ("nl", "en") and item.encoding == "utf-8"


def test_non_html_article_is_skipped_and_counted(spider: NewsSpider) -> None:
    response = TextResponse("http://news.example/2026/x.pdf", body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"},
                            request=Request("http://news.example/2026/x.pdf", meta=meta("article")))
    assert list(spider.parse_article(response)) == []
    assert spider.crawler.stats.get_value("autonews/errors/not_html") == 1


def test_scrape_spider_accepts_urls_and_files(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html></html>")
    assert to_url(str(page)) == page.resolve().as_uri()
    assert to_url("https://example.com/a") == "https://example.com/a"
    with pytest.raises(ValueError):
        to_url(str(tmp_path / "missing.html"))
    assert ScrapeSpider(urls="https://a.example/1,https://a.example/2").targets == ["https://a.example/1", "https://a.example/2"]
