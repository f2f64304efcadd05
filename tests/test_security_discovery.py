"""Bounded discovery, and entries kept on the source's domains (issue 11).

Row 6: a 0.5 MB gzip sitemap of 200,000 entries, four of them in one index, made a crawl
queue 800,000 requests (2.3 GB resident after four minutes, still growing). Discovery is
now bounded three ways: 50,000 URLs per sitemap and 50,000 children per index (the sitemap
protocol's limits, `crawler.discovery.limits`), and ``AUTONEWS_MAX_ARTICLES_PER_SOURCE``
article requests per source and run; documents are streamed, never built as a whole tree.
Feed and sitemap entries, and an index's child sitemaps, must be on the source's hosts
(``Source.on_domain``, with the registry field ``domains:``); only http(s) URLs are ever
requested. Everything left out is counted. The two crawls at the end run the real CLI
against loopback servers: 127.0.0.1 is the source, 127.0.0.2 "another site".
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.discovery import safexml
from crawler.discovery.feeds import read_feed
from crawler.discovery.limits import MAX_ARTICLES_PER_SOURCE, MAX_INDEX_SITEMAPS, MAX_SITEMAP_URLS
from crawler.discovery.sitemaps import DiscoveryError, Entry, parse_sitemap
from crawler.sources.registry import Source, SourceError, load_sources
from crawler.spiders.news import MAX_LOGGED_HOSTS, NewsSpider
from tests.benchmarks.rss import RssSampler
from tests.conftest import FAST, REPO, autonews_cmd, run_reports
from tests.servers.sitemap_site import LoopbackSite, Page, big_sitemap, sitemap_index

MB = 1024 * 1024
RSS_BOUND = 500 * MB  # the acceptance bound for a whole crawl of the row-6 attack
BIG_ENTRIES = 200_000  # per sitemap, as in the report of row 6
BIG_SITEMAPS = 4
ROBOTS_NO_ARTICLES = b"User-agent: *\nDisallow: /a/\n"


# --- per-document caps (pure parsers) ---------------------------------------------------


def test_sitemap_yields_the_protocols_50000_urls_in_order_and_counts_the_rest() -> None:
    assert MAX_SITEMAP_URLS == 50_000 and MAX_INDEX_SITEMAPS == 50_000 and MAX_ARTICLES_PER_SOURCE == 10_000
    result = parse_sitemap(big_sitemap("https://s.example", MAX_SITEMAP_URLS + 123), "https://s.example/s.xml.gz")
    assert len(result.entries) == MAX_SITEMAP_URLS and result.entries_over_cap == 123
    assert result.entries[0] == Entry("https://s.example/a/0", None)
    assert result.entries[-1].url == f"https://s.example/a/{MAX_SITEMAP_URLS - 1}"  # the first 50,000, in order
    exact = parse_sitemap(big_sitemap("https://s.example", 7), "https://s.example/s.xml.gz", max_urls=7)
    assert len(exact.entries) == 7 and exact.entries_over_cap == 0  # at the cap is not over it


def test_index_yields_at_most_50000_children() -> None:
    children = [f"https://s.example/child-{i}.xml" for i in range(MAX_INDEX_SITEMAPS + 5)]
    result = parse_sitemap(sitemap_index(children), "https://s.example/index.xml")
    assert [c.url for c in result.children] == children[:MAX_INDEX_SITEMAPS]
    assert result.children_over_cap == 5 and result.entries == []
    small = parse_sitemap(sitemap_index(children[:10]), "https://s.example/index.xml", max_children=4)
    assert len(small.children) == 4 and small.children_over_cap == 6


def test_duplicates_take_no_room_under_the_cap() -> None:
    locs = "".join(f"<url><loc>https://s.example/{i % 3}</loc></url>" for i in range(10))
    locs += "<url><loc>https://s.example/new</loc></url><url><loc>https://s.example/newer</loc></url>"
    result = parse_sitemap(f"<urlset>{locs}</urlset>".encode(), "https://s.example/s.xml", max_urls=4)
    assert [e.url for e in result.entries] == [f"https://s.example/{i}" for i in range(3)] + ["https://s.example/new"]
    assert result.entries_over_cap == 1


def test_feeds_and_text_sitemaps_are_capped_too() -> None:
    items = "".join(f"<item><link>https://f.example/{i}</link></item>" for i in range(8))
    feed = read_feed(f"<rss><channel>{items}</channel></rss>".encode(), "https://f.example/feed", max_urls=5)
    assert [e.url for e in feed.entries] == [f"https://f.example/{i}" for i in range(5)] and feed.over_cap == 3
    text = "\n".join(f"https://t.example/{i}" for i in range(9)).encode()
    result = parse_sitemap(text, "https://t.example/sitemap.txt", max_urls=2)
    assert len(result.entries) == 2 and result.entries_over_cap == 7


# --- streaming: memory stays flat whatever the document holds ----------------------------

# Runs in a fresh interpreter: builds one hostile body, resets the peak resident size
# (/proc/self/clear_refs), parses, and prints how far the peak rose above the start.
_PARSE_PEAK = """
import gzip, sys
from crawler.discovery.sitemaps import parse_sitemap, DiscoveryError
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
head = b"<urlset><url><loc>http://a.example/1</loc></url>"
bodies = {
    "urls": lambda: b"<urlset>" + b"".join(b"<url><loc>http://a.example/%d</loc></url>" % i for i in range(500_000)),
    "junk": lambda: head + b"<x/>" * 3_000_000,
    "amps": lambda: head + b"&" * 5_000_000,
    "entities": lambda: head + b"&nbsp;" * 2_000_000,
}
body = gzip.compress(bodies[sys.argv[1]]() + b"</urlset>", 1)
open("/proc/self/clear_refs", "w").write("5")
start = status("VmRSS")
result = parse_sitemap(body, "http://a.example/sitemap.xml")
print(len(result.entries), status("VmHWM") - start)
"""


@pytest.mark.parametrize(("shape", "entries"), [("urls", MAX_SITEMAP_URLS), ("junk", 1), ("amps", 1), ("entities", 1)])
def test_parsing_a_hostile_sitemap_takes_little_memory(shape: str, entries: int) -> None:
    # Built whole, these trees took 316 MB (500,000 entries), 366 MB (3 million junk
    # elements), 450 MB and 280 MB (bare "&" and HTML entities: fixing them built millions
    # of small objects); streamed, each takes 20-40 MB.
    proc = subprocess.run([sys.executable, "-c", _PARSE_PEAK, shape], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    found, peak = map(int, proc.stdout.split())
    assert found == entries
    assert peak < 100 * MB, f"{shape}: parsing took {peak / MB:.0f} MB"


def test_an_entry_too_large_to_hold_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safexml, "MAX_ENTRY_ELEMENTS", 1000)
    # Checked between 64 KiB chunks (each holds at most some 16,000 elements): many chunks' worth.
    fat = b"<urlset><url><loc>http://a.example/1</loc>" + b"<x/>" * 50_000 + b"</url></urlset>"
    with pytest.raises(DiscoveryError, match="an entry of more than 1000 elements"):
        parse_sitemap(fat, "http://a.example/sitemap.xml")
    # The same junk between entries is dropped as it is read: not an error.
    thin = b"<urlset><url><loc>http://a.example/1</loc></url>" + b"<x/>" * 50_000 + b"</urlset>"
    assert [e.url for e in parse_sitemap(thin, "http://a.example/sitemap.xml").entries] == ["http://a.example/1"]


def test_entries_across_chunk_boundaries_are_read_whole() -> None:
    # Several 64 KiB chunks; titles of varying length put every part of an entry on a boundary.
    urls, expected = [], []
    for i in range(3000):
        title = f"Story {i}:" + "x" * (i % 97)
        urls.append(f"<url><loc>https://n.example/{i}?a=1&amp;b={i}</loc><lastmod>2024-05-01</lastmod>"
                    f"<news:news><news:title>{title}</news:title>"
                    f"<news:publication_date>2024-05-02T10:00:00Z</news:publication_date></news:news></url>")
        expected.append(Entry(f"https://n.example/{i}?a=1&b={i}", "2024-05-02T10:00:00+00:00", title))
    body = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + "".join(urls) + "</urlset>").encode()
    assert len(body) > 5 * 64 * 1024
    assert parse_sitemap(body, "https://n.example/news.xml").entries == expected
    # Bare "&" make the document malformed: it is read again, fixed piece by piece, in recovery mode.
    broken = body.replace(b"&amp;", b"&")
    assert parse_sitemap(broken, "https://n.example/news.xml").entries == expected


def test_feed_items_across_chunk_boundaries_keep_xml_base_and_dates() -> None:
    items = "".join(f"<item><title>T{i} {'y' * (i % 53)}</title><link>story-{i}.html</link>"
                    f"<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate></item>" for i in range(4000))
    body = f'<rss><channel xml:base="https://cdn.f.example/news/"><title>f</title>{items}</channel></rss>'.encode()
    entries = read_feed(body, "https://f.example/feed").entries
    assert len(entries) == 4000
    assert entries[3999] == Entry("https://cdn.f.example/news/story-3999.html", "2024-05-01T10:00:00+00:00",
                                  f"T3999 {'y' * (3999 % 53)}")


def test_fixing_references_piece_by_piece_equals_fixing_the_whole() -> None:
    parts = [b"a&b", b"&amp;", b"&nbsp;", b"&#233;", b"&#x41;", b"&unknownname;", b"&", b"text ", b"&copy;"]
    data = b"".join(parts[(i * 7) % len(parts)] + b"x" * (i % 61) for i in range(20_000))
    pieces = list(safexml._slices(data))
    assert len(pieces) > 5 and b"".join(pieces) == data
    assert b"".join(map(safexml._fix_references, pieces)) == safexml._fix_references(data)


# --- only http(s) ---------------------------------------------------------------------


def test_non_http_entries_are_counted_never_returned() -> None:
    feed = b"""<rss><channel>
<item><link>javascript:alert(1)</link></item><item><link>file:///etc/passwd</link></item>
<item><link>ftp://f.example/a</link></item><item><link>data:text/html,hi</link></item>
<item><link>https://f.example/ok</link></item><item><link>no-scheme/relative</link></item></channel></rss>"""
    result = read_feed(feed, "https://f.example/feed")
    assert [e.url for e in result.entries] == ["https://f.example/ok", "https://f.example/no-scheme/relative"]
    assert result.not_http == 4
    sitemap = b"""<urlset><url><loc>file:///etc/passwd</loc></url><url><loc>https://s.example/ok</loc></url>
<url><loc>gopher://s.example/x</loc></url></urlset>"""
    parsed = parse_sitemap(sitemap, "https://s.example/sitemap.xml")
    assert [e.url for e in parsed.entries] == ["https://s.example/ok"] and parsed.not_http == 2
    index = b"<sitemapindex><sitemap><loc>file:///etc/passwd</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index, "https://s.example/index.xml").not_http == 1


# --- the registry's domains -------------------------------------------------------------


def _registry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_domains_field_adds_hosts_and_subdomains_count() -> None:
    source = Source(name="s", feeds=("https://www.site.example/feed",), sitemaps=("https://cdn.site.example/s.xml",),
                    extra_domains=("partner.example", "www.site.example"))
    assert source.domains() == ("www.site.example", "cdn.site.example", "partner.example")
    assert source.on_domain("https://www.site.example/a") and source.on_domain("http://img.www.site.example:81/a")
    assert source.on_domain("https://news.partner.example/a") and source.on_domain("ftp://partner.example/a")
    assert not source.on_domain("https://site.example/a")  # the parent domain is another host
    assert not source.on_domain("https://evilsite.example/a") and not source.on_domain("https://partner.example.evil/a")
    assert not source.on_domain("file:///etc/passwd") and not source.on_domain("http://[::1/a")


def test_domains_field_is_loaded_and_validated(tmp_path: Path) -> None:
    [source] = load_sources(_registry(tmp_path, """\
        sources:
          - name: s
            feeds: ['https://news.example/feed']
            domains: ['cdn.example', 'xn--bcher-kva.example', '192.0.2.1']
        """))
    assert source.domains() == ("news.example", "cdn.example", "xn--bcher-kva.example", "192.0.2.1")
    assert source.extra_domains == ("cdn.example", "xn--bcher-kva.example", "192.0.2.1")


@pytest.mark.parametrize("value", [
    "'https://cdn.example'", "'cdn.example/path'", "'cdn.example:8080'", "'*.cdn.example'", "'CDN.example'",
    "'cdn.example.'", "'cdn..example'", "'-cdn.example'", "'cdn example'", "'bücher.example'", "''",
])
def test_domains_must_be_bare_host_names(tmp_path: Path, value: str) -> None:
    path = _registry(tmp_path, f"sources:\n  - name: s\n    feeds: ['https://n.example/f']\n    domains: [{value}]\n")
    with pytest.raises(SourceError, match="field 'domains'"):
        load_sources(path)


def test_domains_must_be_a_list(tmp_path: Path) -> None:
    path = _registry(tmp_path, "sources:\n  - name: s\n    feeds: ['https://n.example/f']\n    domains: cdn.example\n")
    with pytest.raises(SourceError, match="field 'domains': must be a list"):
        load_sources(path)


# --- the spider on canned responses -----------------------------------------------------

SPIDER_REGISTRY = """\
sources:
  - name: site
    feeds: ['http://news.example/feed.xml']
    sitemaps: ['http://news.example/sitemap.xml']
    start_urls: ['http://news.example/news/']
    allow: ['/20']
  - name: wide
    feeds: ['http://wide.example/feed.xml']
    domains: ['partner.example']
"""


def make_spider(tmp_path: Path, **settings: Any) -> NewsSpider:
    """A news spider over SPIDER_REGISTRY with the given settings."""
    crawler = get_crawler(NewsSpider, {"AUTONEWS_SOURCES": str(_registry(tmp_path, SPIDER_REGISTRY)), **settings})
    spider = NewsSpider.from_crawler(crawler)
    crawler.spider = spider
    return spider


def respond(cls: type, url: str, body: bytes, source: str = "site", **meta: Any) -> Any:
    """A response to a discovery request of `source`."""
    request = Request(url, meta={"autonews_kind": "discovery", "autonews_source": source, **meta})
    return cls(url, body=body, request=request)


def stat(spider: NewsSpider, key: str) -> Any:
    """One stat of the spider's crawl."""
    return spider.crawler.stats.get_value(key)


def rss(*links: str) -> bytes:
    """An RSS feed of items with these links."""
    return ("<rss><channel>" + "".join(f"<item><link>{link}</link></item>" for link in links)
            + "</channel></rss>").encode()


def test_off_domain_entries_and_child_sitemaps_are_skipped_counted_and_logged_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spider = make_spider(tmp_path)
    feed = rss("http://news.example/2026/a", "http://cdn.news.example/2026/b", "http://127.0.0.2/2026/c",
               "http://127.0.0.2:8080/2026/d", "http://evil.example/2026/e")
    with caplog.at_level(logging.WARNING):
        out = list(spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", feed)))
        index = sitemap_index(["http://news.example/s1.xml", "http://127.0.0.2/internal.xml",
                               "http://sub.news.example/s2.xml"])
        children = list(spider.parse_sitemap(respond(XmlResponse, "http://news.example/sitemap.xml", index)))
    assert [r.url for r in out] == ["http://news.example/2026/a", "http://cdn.news.example/2026/b"]
    assert [r.url for r in children] == ["http://news.example/s1.xml", "http://sub.news.example/s2.xml"]
    assert stat(spider, "autonews/skipped/off_domain") == 3
    assert stat(spider, "autonews/skipped/off_domain_sitemap") == 1
    assert stat(spider, "autonews/source/site/skipped_off_domain") == 4
    logged = [r.getMessage() for r in caplog.records if "not one of its hosts" in r.getMessage()]
    assert len(logged) == 2, logged  # once per (source, host): 127.0.0.2 (any port) and evil.example
    assert "Source site: skipping entries on 127.0.0.2" in logged[0] and "registry field domains:" in logged[0]


def test_registry_domains_make_another_host_the_sources_own(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    feed = rss("http://partner.example/a", "http://www.partner.example/b", "http://news.example/c")
    out = list(spider.parse_feed(respond(XmlResponse, "http://wide.example/feed.xml", feed, source="wide")))
    assert [r.url for r in out] == ["http://partner.example/a", "http://www.partner.example/b"]
    assert stat(spider, "autonews/source/wide/skipped_off_domain") == 1


def test_off_domain_hosts_are_logged_for_a_bounded_number_of_hosts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spider = make_spider(tmp_path)
    feed = rss(*(f"http://host{i}.example/x" for i in range(MAX_LOGGED_HOSTS + 30)))
    with caplog.at_level(logging.WARNING):
        assert list(spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", feed))) == []
    messages = [r.getMessage() for r in caplog.records]
    assert sum("not one of its hosts" in m for m in messages) == MAX_LOGGED_HOSTS
    assert sum("further hosts are not logged" in m for m in messages) == 1
    assert stat(spider, "autonews/skipped/off_domain") == MAX_LOGGED_HOSTS + 30


def test_links_are_followed_only_when_http(tmp_path: Path) -> None:
    spider = make_spider(tmp_path)
    page = b"""<html><body><a href="/2026/ok">ok</a> <a href="file:///etc/passwd">f</a>
<a href="ftp://news.example/2026/x">ftp</a> <a href="javascript:alert(1)">js</a>
<a href="data:text/html,hi">data</a> <a href="mailto:x@news.example">m</a></body></html>"""
    out = list(spider.parse_section(respond(HtmlResponse, "http://news.example/news/", page, autonews_depth=0)))
    assert [r.url for r in out] == ["http://news.example/2026/ok"]
    # LinkExtractor passes file:// and ftp:// (and drops javascript:, data:, mailto: itself).
    assert stat(spider, "autonews/skipped/not_http") == 2
    assert stat(spider, "autonews/source/site/skipped_not_http") == 2
    feed = rss("javascript:alert(1)", "file:///etc/passwd", "http://news.example/2026/f")
    assert [r.url for r in spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", feed))] == [
        "http://news.example/2026/f"]
    assert stat(spider, "autonews/skipped/not_http") == 4


def test_a_source_queues_at_most_its_cap_of_distinct_articles(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spider = make_spider(tmp_path, AUTONEWS_MAX_ARTICLES_PER_SOURCE=3)
    with caplog.at_level(logging.WARNING):
        feed = rss("http://news.example/2026/1", "http://news.example/2026/2")
        first = list(spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", feed)))
        # The sitemap repeats both (free: the duplicate filter drops them), then lists three more.
        locs = "".join(f"<url><loc>http://news.example/2026/{i}</loc></url>" for i in range(1, 6))
        second = list(spider.parse_sitemap(respond(XmlResponse, "http://news.example/s.xml",
                                                   f"<urlset>{locs}</urlset>".encode())))
        page = b'<html><body><a href="/2026/6">six</a> <a href="/2026/2">two</a></body></html>'
        third = list(spider.parse_section(respond(HtmlResponse, "http://news.example/news/", page, autonews_depth=0)))
        other = list(spider.parse_feed(respond(XmlResponse, "http://wide.example/feed.xml",
                                               rss("http://wide.example/1"), source="wide")))
    assert len(first) == 2 and [r.url for r in second] == [f"http://news.example/2026/{i}" for i in (1, 2, 3)]
    assert [r.url for r in third] == ["http://news.example/2026/2"]  # /6 is over the cap, /2 is queued already
    assert len(other) == 1  # the cap is per source
    assert stat(spider, "autonews/skipped/source_cap") == 3  # /4, /5 and /6
    assert stat(spider, "autonews/source/site/skipped_cap") == 3
    assert stat(spider, "autonews/source/wide/skipped_cap") is None
    assert sum("AUTONEWS_MAX_ARTICLES_PER_SOURCE" in r.getMessage() for r in caplog.records) == 1


def test_the_cap_defaults_to_the_declared_setting_and_zero_means_none(tmp_path: Path) -> None:
    assert make_spider(tmp_path).max_articles == MAX_ARTICLES_PER_SOURCE
    spider = make_spider(tmp_path, AUTONEWS_MAX_ARTICLES_PER_SOURCE=0)
    feed = rss(*(f"http://news.example/2026/{i}" for i in range(50)))
    assert len(list(spider.parse_feed(respond(XmlResponse, "http://news.example/feed.xml", feed)))) == 50
    assert stat(spider, "autonews/skipped/source_cap") is None and not spider.queued


def test_over_cap_documents_are_counted_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spider = make_spider(tmp_path, AUTONEWS_MAX_ARTICLES_PER_SOURCE=0)
    body = big_sitemap("http://news.example", MAX_SITEMAP_URLS + 10)
    with caplog.at_level(logging.WARNING):
        out = list(spider.parse_sitemap(respond(XmlResponse, "http://news.example/big.xml.gz", body)))
    assert len(out) == MAX_SITEMAP_URLS
    assert stat(spider, "autonews/skipped/sitemap_cap") == 10
    assert [r.getMessage() for r in caplog.records] == [
        "http://news.example/big.xml.gz lists 10 URLs beyond the 50000 allowed: skipped"]


# --- whole crawls against loopback servers ------------------------------------------------

# Runs the crawl as its child and writes the largest resident size any descendant reached
# (ru_maxrss of the waited-for children: exact, where sampling may miss a short peak).
_PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))\n"
    "sys.exit(code)\n"
)


def crawl(work: Path, registry: str, *settings: str) -> dict[str, Any]:
    """Run ``autonews crawl`` over `registry` in `work`, measuring memory; return what it left.

    The peak is measured twice: the whole process tree's resident size, sampled every
    50 ms (pool workers included, were there any), and the largest single process's
    high-water mark, exactly.
    """
    path = work / "sources.yaml"
    path.write_text(registry, encoding="utf-8")
    output, log, hwm = work / "output", work / "crawl.log", work / "hwm"
    command = [*autonews_cmd(), "crawl", "--sources", str(path), "--output", str(output), "--log-file", str(log),
               "-s", "AUTONEWS_POOL_PROCESSES=0", *FAST, *settings]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    # A session of its own: on a timeout the whole group goes, the crawl under the wrapper too.
    proc = subprocess.Popen([sys.executable, "-c", _PEAK_WRAPPER, str(hwm), *command], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with RssSampler(proc.pid) as sampler:
        try:
            stdout, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
    reports = run_reports(output)
    assert len(reports) == 1, f"exit {proc.returncode}: {stderr[-3000:]}"
    report = reports[0]
    return {"code": proc.returncode, "stderr": stderr, "stdout": stdout, "log": log.read_text("utf-8"),
            "report": report, "stats": report["stats"], "tree_peak": sampler.peak,
            "process_peak": int(hwm.read_text())}


@pytest.fixture(scope="module")
def big_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Row 6: one source whose index lists four 200,000-entry gzip sitemaps; the default caps."""
    work = tmp_path_factory.mktemp("big")
    with LoopbackSite() as site:
        names = [f"/big-{n}.xml.gz" for n in range(1, BIG_SITEMAPS + 1)]
        for n, name in enumerate(names, start=1):
            site.pages[name] = Page(big_sitemap(site.base_url, BIG_ENTRIES, f"/a/{n}/"), "application/gzip")
        site.pages["/index.xml"] = Page(sitemap_index([site.url(n) for n in names]), "application/xml")
        # The 10,000 queued article requests are refused by robots.txt once dequeued, without a
        # download: they cost the scheduler what they cost in a real crawl, and the crawl stays short.
        site.pages["/robots.txt"] = Page(ROBOTS_NO_ARTICLES, "text/plain")
        registry = f"sources:\n  - name: big\n    sitemaps: ['{site.url('/index.xml')}']\n"
        result = crawl(work, registry, "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1")
        result["site"] = site
        yield result


def test_row6_crawl_of_four_200000_entry_sitemaps_stays_under_500_mb(big_crawl: dict[str, Any]) -> None:
    # Before: every entry was queued; 2.3 GB after four minutes, still growing. After: about 180 MB.
    assert big_crawl["code"] == 0, big_crawl["stderr"]
    assert big_crawl["tree_peak"] < RSS_BOUND, f"process tree peaked at {big_crawl['tree_peak'] / MB:.0f} MB"
    assert big_crawl["process_peak"] < RSS_BOUND, f"crawl peaked at {big_crawl['process_peak'] / MB:.0f} MB"


def test_row6_crawl_counts_what_the_caps_left_out_and_queues_none_of_it(big_crawl: dict[str, Any]) -> None:
    stats, site = big_crawl["stats"], big_crawl["site"]
    # The first sitemap fills the source's cap: the children are requested two at a time and none once
    # the cap is full (one fetched meanwhile is not parsed; crawler/spiders/children.py).
    fetched = sum(site.hits[f"/big-{n}.xml.gz"] for n in range(1, BIG_SITEMAPS + 1))
    parsed = BIG_SITEMAPS - stats["autonews/skipped/sitemap_source_full"]
    assert fetched == 2 and 1 <= parsed <= 2 and all(site.hits[f"/big-{n}.xml.gz"] <= 1 for n in range(1, 5))
    assert stats["autonews/skipped/sitemap_cap"] == parsed * (BIG_ENTRIES - MAX_SITEMAP_URLS)
    kept = parsed * MAX_SITEMAP_URLS
    assert stats["autonews/skipped/source_cap"] == kept - MAX_ARTICLES_PER_SOURCE
    assert stats["autonews/source/big/skipped_cap"] == kept - MAX_ARTICLES_PER_SOURCE
    # The index, the sitemaps fetched and the source's 10,000 articles: nothing else was ever queued.
    assert stats["scheduler/enqueued"] == 1 + fetched + MAX_ARTICLES_PER_SOURCE
    assert stats["robotstxt/forbidden"] == MAX_ARTICLES_PER_SOURCE
    assert site.hit_count("/a/") == 0
    log = big_crawl["log"]
    assert log.count(f"lists {BIG_ENTRIES - MAX_SITEMAP_URLS} URLs beyond the 50000 allowed") == parsed
    assert log.count("Source big: 10000 article requests queued in this run") == 1


@pytest.fixture(scope="module")
def mixed_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three sources on 127.0.0.1 whose documents point at 127.0.0.2 and at non-http URLs; a cap of 10."""
    work = tmp_path_factory.mktemp("mixed")
    with LoopbackSite("127.0.0.1") as site, LoopbackSite("127.0.0.2") as other:
        rss_type, xml_type = "application/rss+xml", "application/xml"
        site.pages.update({
            "/robots.txt": Page(b"", "text/plain"),
            "/feed.xml": Page(rss(site.url("/a/f1"), other.url("/a/off1"), "javascript:alert(1)",
                                  "file:///etc/passwd", site.url("/a/f1").replace("http:", "ftp:"),
                                  "data:text/html,hi", site.url("/a/redirect")), rss_type),
            # A feed proxy's way: an entry on the source's host redirecting elsewhere is followed.
            "/a/redirect": Page(status=302, headers={"Location": other.url("/a/target")}),
            "/index.xml": Page(sitemap_index([site.url("/s1.xml"), other.url("/s2.xml")]), xml_type),
            "/s1.xml": Page(f"<urlset><url><loc>{site.url('/a/s1')}</loc></url><url><loc>{site.url('/a/s2')}</loc>"
                            f"</url><url><loc>{other.url('/a/off2')}</loc></url><url><loc>ftp://127.0.0.1/a/x</loc>"
                            "</url></urlset>".encode(), xml_type),
            "/news/": Page(f'<html><body><a href="/a/n1">n1</a> <a href="{other.url("/a/off3")}">off</a> '
                           '<a href="file:///etc/passwd">f</a> <a href="ftp://127.0.0.1/a/y">ftp</a> '
                           '<a href="javascript:void(0)">js</a></body></html>'.encode()),
            "/c1.xml": Page(("<urlset>" + "".join(f"<url><loc>{site.url(f'/c/{i}')}</loc></url>" for i in range(1, 26))
                             + "</urlset>").encode(), xml_type),
            "/c2.xml": Page(("<urlset>" + "".join(f"<url><loc>{site.url(f'/c/{i}')}</loc></url>" for i in range(1, 6))
                             + "</urlset>").encode(), xml_type),
            "/p/feed.xml": Page(rss(other.url("/p/story")), rss_type),
        })
        other.pages["/robots.txt"] = Page(b"", "text/plain")
        registry = textwrap.dedent(f"""\
            sources:
              - name: mixed
                feeds: ['{site.url('/feed.xml')}']
                sitemaps: ['{site.url('/index.xml')}']
                start_urls: ['{site.url('/news/')}']
                allow: ['/a/']
              - name: capped
                sitemaps: ['{site.url('/c1.xml')}', '{site.url('/c2.xml')}']
              - name: partner
                feeds: ['{site.url('/p/feed.xml')}']
                domains: ['127.0.0.2']
            """)
        # 127.0.0.2 is allowed by the address check, so that only the domain rule keeps it out.
        # the stub site answers most article URLs with 404, which run health calls degraded (exit 4): the
        # verdict is not what this crawl checks, so it does not set the exit status
        result = crawl(work, registry, "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1,127.0.0.2",
                       "-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=10", "-s", "AUTONEWS_HEALTH_EXIT_STATUS=0")
        result.update(site=site, other=other)
        yield result


def test_entries_and_child_sitemaps_on_other_hosts_are_never_fetched(mixed_crawl: dict[str, Any]) -> None:
    stats, site, other = mixed_crawl["stats"], mixed_crawl["site"], mixed_crawl["other"]
    assert mixed_crawl["code"] == 0, mixed_crawl["stderr"]
    assert sorted(site.hits) == sorted([
        "/robots.txt", "/feed.xml", "/index.xml", "/s1.xml", "/news/", "/c1.xml", "/c2.xml", "/p/feed.xml",
        "/a/f1", "/a/redirect", "/a/s1", "/a/s2", "/a/n1", *(f"/c/{i}" for i in range(1, 11))])
    # Only the redirect target (a redirect may leave the source's hosts) and the partner's story.
    assert sorted(other.hits) == ["/a/target", "/p/story", "/robots.txt"]
    assert stats["autonews/skipped/off_domain"] == 2  # /a/off1 (feed), /a/off2 (sitemap)
    assert stats["autonews/skipped/off_domain_sitemap"] == 1  # /s2.xml
    assert stats["autonews/source/mixed/skipped_off_domain"] == 3
    assert mixed_crawl["log"].count("Source mixed: skipping entries on 127.0.0.2") == 1
    assert "autonews/source/partner/skipped_off_domain" not in stats  # domains: made 127.0.0.2 its own


def test_non_http_urls_are_counted_and_never_requested(mixed_crawl: dict[str, Any]) -> None:
    stats = mixed_crawl["stats"]
    # feed: javascript:, file:, ftp:, data: / sitemap: ftp: / page: file:, ftp:
    assert stats["autonews/skipped/not_http"] == 7
    assert stats["autonews/source/mixed/skipped_not_http"] == 7
    # Had any been requested, the downloader's scheme guard would have refused and counted it.
    assert not [k for k in stats if "blocked" in k or "scheme" in k]


def test_the_per_source_cap_holds_in_a_crawl(mixed_crawl: dict[str, Any]) -> None:
    stats = mixed_crawl["stats"]
    assert stats["autonews/source/capped/skipped_cap"] == 15  # 25 distinct URLs, 10 queued
    assert stats["autonews/skipped/source_cap"] == 15  # the other sources stayed under 10
    assert mixed_crawl["site"].hit_count("/c/") == 10
    assert mixed_crawl["log"].count("Source capped: 10 article requests queued") == 1
