"""Tests for the bundled offline demo site, its server, registry and manifest."""
from __future__ import annotations

import gzip
import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml import ElementTree as ET

from crawler.demo import EXPECTED_FILE, SITE_DIR, SOURCES_FILE
from crawler.demo.server import DemoServer, resolve_path
from crawler.sources.registry import load_sources

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
EXPECTED: list[dict] = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
ARTICLES = [e for e in EXPECTED if e["kind"] == "article"]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL; return status, headers and body (also for HTTP errors)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def visible_text(page: str) -> str:
    """Crude tag-stripped, entity-decoded, whitespace-collapsed text of an HTML page."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer() as srv:
        yield srv


def test_base_url_and_stop_releases_port() -> None:
    srv = DemoServer().start()
    base = srv.base_url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    assert fetch(base + "/robots.txt")[0] == 200
    srv.stop()
    with pytest.raises(RuntimeError):
        _ = srv.base_url
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/robots.txt", timeout=2)


def test_robots_txt(server: DemoServer) -> None:
    status, headers, body = fetch(server.url("/robots.txt"))
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "User-agent: *" in text and "Allow: /" in text
    sitemaps = re.findall(r"^Sitemap: (\S+)$", text, flags=re.M)
    assert sitemaps == [server.url("/autowire/sitemap_index.xml"), server.url("/evxl/sitemap.xml")]
    assert "{{BASE}}" not in text


def test_rss_feed(server: DemoServer) -> None:
    status, headers, body = fetch(server.url("/evpulse/feed.xml"))
    assert status == 200
    assert headers["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    links = [i.findtext("link") for i in root.iter("item")]
    assert server.url("/evpulse/2015/12/aston-martin-signs-deal-with-letv/") in links
    assert len(links) == 4
    for link in links:
        assert fetch(link)[0] == 200, link
    assert all(i.findtext("pubDate") for i in root.iter("item"))


def test_sitemap_index_plain_news_and_gzip(server: DemoServer) -> None:
    status, headers, body = fetch(server.url("/autowire/sitemap_index.xml"))
    assert status == 200 and headers["Content-Type"].startswith("application/xml")
    children = [loc.text for loc in ET.fromstring(body).iter(SM + "loc")]
    assert children == [server.url("/autowire/sitemap-posts.xml"), server.url("/autowire/news-sitemap.xml"),
                        server.url("/autowire/sitemap-archive.xml.gz")]

    news = ET.fromstring(fetch(children[1])[2])
    dates = [d.text for d in news.iter(NEWS + "publication_date")]
    assert "2025-04-26T06:30:00+00:00" in dates and len(dates) == 3

    status, headers, gz = fetch(children[2])
    assert status == 200 and headers["Content-Type"] == "application/gzip"
    archive = ET.fromstring(gzip.decompress(gz))
    locs = [loc.text for loc in archive.iter(SM + "loc")]
    assert server.url("/autowire/asia/2015/04/letv-inks-tech-deal-with-aston-martin/") in locs
    for loc in locs:
        assert fetch(loc)[0] == 200, loc


def test_evxl_sitemap_has_no_dates(server: DemoServer) -> None:
    body = fetch(server.url("/evxl/sitemap.xml"))[2]
    root = ET.fromstring(body)
    assert [loc.text for loc in root.iter(SM + "loc")] == [server.url("/evxl/stellantis-leapmotor/")]
    assert root.find(f".//{SM}lastmod") is None


def test_page_by_path_and_utm_alias_are_identical(server: DemoServer) -> None:
    plain = server.url("/evpulse/2015/12/aston-martin-signs-deal-with-letv/")
    status, headers, body = fetch(plain)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    section = fetch(server.url("/evpulse/news/"))[2].decode()
    aliases = [html.unescape(h) for h in re.findall(r'href="([^"]*aston-martin-signs-deal-with-letv/\?[^"]*)"', section)]
    assert len(aliases) == 1 and "utm_source=" in aliases[0] and "fbclid=" in aliases[0]
    assert 'href="/evpulse/2015/12/aston-martin-signs-deal-with-letv/"' in section
    assert fetch(server.url(aliases[0]))[2] == body


def test_base_substitution_in_html(server: DemoServer) -> None:
    body = fetch(server.url("/evxl/stellantis-leapmotor/"))[2].decode()
    assert "{{BASE}}" not in body
    assert f'<link rel="canonical" href="{server.base_url}/evxl/stellantis-leapmotor/">' in body
    raw = (SITE_DIR / "evxl/stellantis-leapmotor/index.html").read_text(encoding="utf-8")
    assert "{{BASE}}" in raw


def test_content_language_header_for_dutch_site(server: DemoServer) -> None:
    headers = fetch(server.url("/evxl/stellantis-leapmotor/"))[1]
    assert headers.get("Content-Language") == "nl-NL"
    assert "Content-Language" not in fetch(server.url("/evpulse/news/"))[1]


@pytest.mark.parametrize("path", ["/nope/", "/evpulse/missing.html", "/../../etc/passwd", "/evpulse/tag/tesla/"])
def test_missing_is_404(server: DemoServer, path: str) -> None:
    assert fetch(server.url(path))[0] == 404


def test_resolve_path_stays_inside_root() -> None:
    assert resolve_path(SITE_DIR, "/%2e%2e/%2e%2e/server.py") is None
    assert resolve_path(SITE_DIR, "/evxl/?a=1") == SITE_DIR / "evxl" / "index.html"


def test_dutch_page_has_no_date_anywhere() -> None:
    page = (SITE_DIR / "evxl/stellantis-leapmotor/index.html").read_text(encoding="utf-8")
    assert 'lang="nl-NL"' in page and 'content="nl_NL"' in page
    assert not re.search(r"published_time|datePublished|dateModified|<time|\d{4}-\d{2}-\d{2}|/20\d\d/", page)
    assert "Copyright &copy; EVXL.co 2024" in page


def test_syndicated_copy_differs_from_original() -> None:
    orig = visible_text((SITE_DIR / "autowire/2025/04/26/leapmotor-to-supply-ev-platform-to-hongqi/index.html").read_text())
    copy = visible_text((SITE_DIR / "evpulse/2025/04/leapmotor-hongqi-ev-platform/index.html").read_text())
    dropped = "Chinese automakers and suppliers have been pushing such technology licensing deals"
    assert dropped in orig and dropped not in copy
    assert "Ferrari CEO Benedetto Vigna visited Leapmotor in February" in copy


def test_sources_yaml_loads_and_follows() -> None:
    base = "http://127.0.0.1:8765"
    sources = {s.name: s for s in load_sources(SOURCES_FILE, substitutions={"{{BASE}}": base})}
    assert set(sources) == {"evpulse", "evxl", "autowire"}
    for entry in ARTICLES:
        assert sources[entry["source"]].follows(base + entry["path"]), entry["path"]
    for path in ("/evpulse/about/", "/evpulse/tag/aston-martin/", "/evxl/contact/", "/autowire/about/"):
        assert not any(s.follows(base + path) for s in sources.values()), path


def test_expected_manifest_shape() -> None:
    keys = {"path", "file", "kind", "title", "authors", "published", "language", "flags_expected",
            "flags_forbidden", "must_contain", "must_not_contain", "duplicate_of", "same_story_as"}
    paths = {e["path"] for e in EXPECTED}
    assert len(paths) == len(EXPECTED)
    assert len({e["file"] for e in ARTICLES}) >= 8
    for e in EXPECTED:
        assert keys <= set(e), e["path"]
        assert e["kind"] in {"article", "not_article"}
        for ref in (e["duplicate_of"], e["same_story_as"]):
            assert ref is None or ref in paths
    evxl = next(e for e in EXPECTED if e["path"] == "/evxl/stellantis-leapmotor/")
    assert evxl["published"] is None and evxl["authors"] == ["Haye Kesteloo"]
    assert {"non_english", "mixed_language"} <= set(evxl["flags_expected"])


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["path"][:60] for e in EXPECTED])
def test_expected_snippets_are_true_of_the_html(entry: dict) -> None:
    file = Path(EXPECTED_FILE.parent, entry["file"])
    assert file.is_file()
    page = file.read_text(encoding="utf-8")
    text = visible_text(page)
    for snippet in entry["must_contain"]:
        assert snippet in text, snippet
    # Boilerplate snippets must really be on the page (text or alt text), or the
    # downstream "not in the extracted text" checks prove nothing.
    whole_page = re.sub(r"\s+", " ", html.unescape(page))
    for snippet in entry["must_not_contain"]:
        assert snippet in whole_page, snippet
    if entry["kind"] == "article":
        assert entry["title"] and entry["title"] in text
        for author in entry["authors"]:
            assert author in text
        if entry["published"]:
            assert entry["published"] in page


def test_every_expected_path_is_served(server: DemoServer) -> None:
    for entry in EXPECTED:
        status, _, body = fetch(server.url(entry["path"]))
        assert status == 200, entry["path"]
        assert body == (Path(EXPECTED_FILE.parent, entry["file"]).read_bytes()
                        .replace(b"{{BASE}}", server.base_url.encode()))
