"""Tests for pipelines.extract.article and its helpers.

Per-page checks on real-world pages are data: tests/fixtures/pages/<case>.{html,json}, run by tests/test_pages.py.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import pickle
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.extract.article import extract_article
from pipelines.extract.authors import clean_authors
from pipelines.extract.dateline import parse_dateline
from pipelines.extract.html import decode_body
from pipelines.extract.meta import normalize_date
from pipelines.extract.pipeline import ExtractPipeline
from pipelines.extract.text import clean_text
from pipelines.items import Article, PageItem
from pipelines.language.codes import parse_declared
from tests.conftest import make_page

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://news.example/2024/01/story/"


def fixture(name: str) -> bytes:
    """Raw bytes of a fixture page."""
    return (FIXTURES / name).read_bytes()


def field(record: Any, name: str) -> Any:
    """One field of ``extract_article``'s result, whether a dataclass (ExtractedPage) or a dict."""
    return record[name] if isinstance(record, dict) else getattr(record, name)


def article_html(paragraphs: list[str], head: str = "", charset: str = "utf-8", byline: str = "") -> str:
    """A minimal article page around ``paragraphs``."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="{charset}"><title>Test story</title>{head}</head>'
            f'<body><nav><a href="/">Home</a></nav><article><h1>Test story</h1>{byline}'
            f'<div class="body">{body}</div></article></body></html>')


LONG = ["Citroën and the café owners agreed on a price of 20 € per day for the charging stations near the square.",
        "The charging stations will be installed next spring, the town council said in a statement on Monday.",
        "Residents asked whether the stations would also serve electric bicycles, and the council said they would.",
        "A second phase with faster chargers is planned for the following year if the first one is a success."]


# --- thresholds and decoding ------------------------------------------------------------------

def test_short_page_is_rejected_with_documented_threshold() -> None:
    page = article_html(LONG[:2])
    assert extract_article(page, URL) is None  # under 300 characters
    assert extract_article(page, URL, min_chars=100) is not None
    assert extract_article(page, URL, min_chars=100, min_paragraphs=3) is None


@pytest.mark.parametrize("body", [
    b"",
    random.Random(0).randbytes(20000),
    b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(5000),
    gzip.compress(article_html(LONG).encode()),
    b"%PDF-1.4\n" + bytes(range(256)) * 40,
    b"just some plain text without any markup, repeated " * 50,
])
def test_binary_or_non_html_bodies_return_none(body: bytes) -> None:
    assert extract_article(body, URL) is None


def test_meta_charset_windows_1252_without_http_charset() -> None:
    record = extract_article(article_html(LONG, charset="windows-1252").encode("cp1252"), URL)
    assert record is not None
    assert "Citroën and the café owners agreed on a price of 20 € per day" in field(record, "text")


def test_http_charset_wins_over_meta_and_latin1_label_means_windows_1252() -> None:
    body = article_html(LONG, charset="utf-8").encode("cp1252")  # meta lies, the header is right
    record = extract_article(body, URL, "ISO-8859-1")
    assert record is not None
    assert "20 € per day" in field(record, "text")


def test_wrong_utf8_label_falls_back_instead_of_crashing() -> None:
    record = extract_article(article_html(LONG, charset="utf-8").encode("cp1252"), URL, "utf-8")
    assert record is not None
    assert "Citroën" in field(record, "text")


def test_decode_body_order() -> None:
    assert decode_body(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "iso-8859-1") == "<p>café</p>"  # BOM wins
    assert decode_body("already text") == "already text"
    koi8 = b'<meta charset="koi8-r"><p>\xf0\xd2\xc9\xd7\xc5\xd4</p>'
    assert decode_body(koi8) == '<meta charset="koi8-r"><p>Привет</p>'
    assert decode_body(b"<p>x</p>", "no-such-charset") == "<p>x</p>"
    assert decode_body(b"\x00\x01\x02\x03" * 100) is None


def test_jsonld_graph_and_meta_dates() -> None:
    graph = ('<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebSite",'
             '"name":"X"},{"@type":"NewsArticle","headline":"Test story","datePublished":"2024-03-05T08:00:00Z",'
             '"author":{"@type":"Person","name":"Jane Roe"}}]}</script>'
             '<meta property="article:modified_time" content="2024-03-06T09:30:00+01:00">')
    record = extract_article(article_html(LONG, head=graph), URL)
    assert record is not None
    assert field(record, "published") == "2024-03-05T08:00:00+00:00"
    assert field(record, "modified") == "2024-03-06T09:30:00+01:00"
    assert field(record, "authors") == ["Jane Roe"]


def test_visible_time_element_gives_the_date() -> None:
    byline = '<p class="meta">Posted <time datetime="2023-09-14">September 14, 2023</time></p>'
    record = extract_article(article_html(LONG, byline=byline), URL)
    assert record is not None and field(record, "published") == "2023-09-14"


@pytest.mark.parametrize("dateline, expected", [
    ('<div class="dates"><span>PUBLISHED : Tuesday, 21 April, 2015, 11:46am</span></div>', "2015-04-21"),
    ('<p class="byline">DEC 21 2015 BY MARK KANE</p>', "2015-12-21"),
    ("<div>Posted on March 3, 2024</div>", "2024-03-03"),
    ("<p>© March 3, 2024 Example Media</p>", None),
])
def test_visible_dateline_is_a_last_resort(dateline: str, expected: str | None) -> None:
    record = extract_article(article_html(LONG, byline=dateline), "https://news.example/story")
    assert record is not None
    assert field(record, "published") == expected
    assert field(record, "authors") in ([], ["MARK KANE"])  # never the month of the dateline


def test_parse_dateline_reads_only_unambiguous_dates() -> None:
    assert parse_dateline("Updated 2024-05-06 10:00") == "2024-05-06"
    assert parse_dateline("1st Feb. 2020") == "2020-02-01"
    assert parse_dateline("Posted 03/04/2024") is None  # day/month order unknown: not guessed
    assert parse_dateline("Copyright March 3, 2024") is None
    assert parse_dateline("March 33, 2024") is None


def test_result_is_plain_data_and_runs_in_a_process_pool() -> None:
    body = fixture("evxl_door.html")
    with ProcessPoolExecutor(max_workers=1) as pool:
        record = pool.submit(extract_article, body, URL).result()
    assert record == extract_article(body, URL)
    assert pickle.loads(pickle.dumps(record)) == record


# --- helpers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (["door Haye Kesteloo"], ["Haye Kesteloo"]),
    (["By Jane Doe and John Roe"], ["Jane Doe", "John Roe"]),
    (["par Marie Curie, Pierre Curie"], ["Marie Curie", "Pierre Curie"]),
    (["von Hans Müller und Eva Schmidt"], ["Hans Müller", "Eva Schmidt"]),
    (["di Mario Rossi"], ["Mario Rossi"]),
    (["por Ana García; de Luis Pérez Gómez"], ["Ana García", "Luis Pérez Gómez"]),
    (["Jan Jansen en Piet Pietersen"], ["Jan Jansen", "Piet Pietersen"]),
    (["Ann Lee & Bo Chan", "ann lee"], ["Ann Lee", "Bo Chan"]),
    (["Jane Doe jane@example.com", "https://example.com/author/jane"], ["Jane Doe"]),
    (["von der Leyen"], ["von der Leyen"]),
    (["Frenkie de Jong"], ["Frenkie de Jong"]),
    ([None, "", "  "], []),
])
def test_clean_authors(raw: list[str | None], expected: list[str]) -> None:
    assert clean_authors(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("2024-03-05T08:00:00Z", "2024-03-05T08:00:00+00:00"),
    ("2024-03-05", "2024-03-05"),
    ("Tue, 21 Apr 2015 11:46:00 +0800", "2015-04-21T11:46:00+08:00"),
    ("Copyright 2023", None),
    ("", None),
    (None, None),
])
def test_normalize_date(raw: str | None, expected: str | None) -> None:
    assert normalize_date(raw) == expected


def test_clean_text_trims_headline_teasers_and_trailing_furniture() -> None:
    text = "\n".join(["Test story", "November 20, 2019 - 11:28 AMT", LONG[0], "Related: Another headline here",
                      LONG[1], "READ MORE: Something else entirely", LONG[2],
                      "Sign up for our newsletter", "Follow us on Twitter", "© 2024 Example Media"])
    assert clean_text(text, ["Test story | Example"]) == "\n".join(LONG[:3])


def test_clean_text_keeps_ordinary_endings() -> None:
    text = "\n".join(LONG)
    assert clean_text(text, ["Unrelated title"]) == text


# --- pipeline ---------------------------------------------------------------------------------

def make_pipeline(**settings: Any) -> ExtractPipeline:
    """The pipeline on a real crawler, extracting inline (``AUTONEWS_POOL_PROCESSES=0``, no process pool)."""
    crawler = get_crawler(Spider, {"AUTONEWS_POOL_PROCESSES": 0, **settings})
    return ExtractPipeline.from_crawler(crawler)


def process(pipeline: ExtractPipeline, page: PageItem) -> Article:
    """Run the pipeline's ``process_item`` to completion."""
    return asyncio.run(pipeline.process_item(page))


def counted(pipeline: ExtractPipeline) -> dict[str, int]:
    """The autonews counters the pipeline left in its crawler's stats."""
    return {k: v for k, v in pipeline.stats.get_stats().items() if k.startswith("autonews/")}


def page_item(body: bytes, content_language: str | None = None, **extra: Any) -> PageItem:
    """A fetched page; ``content_language`` is the raw header, normalised as the spider does."""
    return make_page(body, URL, fetched_at="2024-01-01T00:00:00+00:00", expected_language="en",
                     content_languages=parse_declared([content_language]), **extra)


def test_pipeline_merges_fields_and_removes_body() -> None:
    pipeline = make_pipeline()
    page = page_item(fixture("scmp_cp1252.html"), content_language="en-GB, zh")
    item = process(pipeline, page)
    assert page.body == b"" and not hasattr(item, "body")
    assert item.source == "test" and item.published == "2015-04-21T11:46:00+08:00"
    assert "no_date" not in item.flags
    # the page's <html lang>, then the Content-Language header's languages (normalised once)
    assert item.declared_languages == ("en", "zh")
    assert counted(pipeline) == {"autonews/extracted": 1}


def test_pipeline_falls_back_to_feed_date_then_flags_no_date() -> None:
    pipeline = make_pipeline()
    body = fixture("carblog_copyright_only.html")
    # discovery hands feed dates over already normalised (crawler.discovery.dates.normalize_feed_date)
    item = process(pipeline, page_item(body, feed_published="2023-08-02T10:00:00+00:00"))
    assert item.published == "2023-08-02T10:00:00+00:00"
    assert "no_date" not in item.flags
    item = process(pipeline, page_item(body, content_language="nl"))
    assert item.published is None and item.flags == ["no_date"]
    assert item.declared_languages == ("en", "nl")


def test_pipeline_drops_non_articles_with_short_message() -> None:
    pipeline = make_pipeline()
    item = page_item(fixture("listing.html"))
    with pytest.raises(DropItem) as excinfo:
        process(pipeline, item)
    assert str(excinfo.value) == f"not an article: {URL}"
    assert item.body == b""  # DropItem logs the item: the raw HTML is gone by then
    assert counted(pipeline) == {"autonews/not_article": 1}


def test_pipeline_with_a_real_crawler_counts_in_its_stats() -> None:
    crawler = get_crawler(Spider, {"AUTONEWS_MIN_TEXT_CHARS": 100, "AUTONEWS_POOL_PROCESSES": 0})
    pipeline = ExtractPipeline.from_crawler(crawler)
    process(pipeline, page_item(article_html(LONG[:2]).encode()))
    with pytest.raises(DropItem):
        process(pipeline, page_item(b"\x00\x01" * 500))
    assert crawler.stats.get_value("autonews/extracted") == 1
    assert crawler.stats.get_value("autonews/not_article") == 1


def test_pipeline_min_text_chars_setting() -> None:
    body = article_html(LONG[:2]).encode()
    with pytest.raises(DropItem):
        process(make_pipeline(), page_item(body))
    assert process(make_pipeline(AUTONEWS_MIN_TEXT_CHARS=100), page_item(body)).text.startswith("Citroën")


# --- demo site manifest (crawler/demo/expected.json) ------------------------------------------

DEMO = Path(__file__).resolve().parents[1] / "crawler" / "demo"
MANIFEST: list[dict[str, Any]] = json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))


def demo_url(entry: dict[str, Any]) -> str:
    """The URL the demo server would serve ``entry`` at."""
    return "http://127.0.0.1:8000" + entry["path"]


@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["kind"] == "article"], ids=lambda e: e["path"][:70])
def test_demo_site_articles(entry: dict[str, Any]) -> None:
    record = extract_article((DEMO / entry["file"]).read_bytes(), demo_url(entry))
    assert record is not None
    for snippet in entry.get("must_contain", []):
        assert snippet in field(record, "text"), snippet
    for snippet in entry.get("must_not_contain", []):
        assert snippet not in field(record, "text"), snippet
    assert field(record, "authors") == entry["authors"]
    assert (field(record, "published") or "")[:10] == (entry["published"] or "")
    if entry.get("title"):
        assert field(record, "title") == entry["title"]


@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["kind"] == "not_article"], ids=lambda e: e["path"])
def test_demo_site_non_articles(entry: dict[str, Any]) -> None:
    assert extract_article((DEMO / entry["file"]).read_bytes(), demo_url(entry)) is None


def test_cjk_text_is_weighed_by_content_not_by_character_count() -> None:
    from pipelines.extract.article import text_weight

    assert text_weight("abc") == 3
    assert text_weight("電動車") == 9  # three wide characters weigh like nine letters
    assert text_weight("배터리") == 9


def test_a_short_chinese_news_item_is_an_article() -> None:
    paragraphs = [
        "比亚迪周三宣布，将在匈牙利塞格德新建的电动汽车工厂提前于明年第一季度投产，首批车型为紧凑型纯电动运动型多用途车。",
        "公司表示，该工厂初期年产能为十五万辆，主要供应欧洲市场，并将在当地招聘约一千名员工，其中大部分为生产线技术工人。",
        "分析人士认为，在欧盟对中国产电动汽车加征关税的背景下，本地化生产有助于比亚迪降低成本并提高在欧洲的市场份额。",
    ]
    html = ("<html lang='zh'><head><meta charset='utf-8'><title>比亚迪匈牙利工厂提前投产</title></head><body><article>"
            "<h1>比亚迪匈牙利工厂提前投产</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article></body></html>")
    assert sum(map(len, paragraphs)) < 300  # under the character minimum made for alphabetic scripts
    record = extract_article(html.encode("utf-8"), "https://news.example/zh/byd-szeged/")
    assert record is not None and paragraphs[1] in field(record, "text")
