"""Tests for the dedupe pipeline (pipelines.dedupe.pipeline) and the seen-URL middleware (crawler.middlewares.seen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares.seen import SeenUrlMiddleware
from pipelines.dedupe.pipeline import DedupePipeline, dedupe_keys
from pipelines.items import Article
from tests.conftest import make_article
from pipelines.dedupe.neardup import text_fingerprint
from pipelines.state.backend import close_store, open_store
from pipelines.state.sqlite_store import SQLiteStore

SEEDS = Path(__file__).parent / "fixtures" / "seeds"  # the five seed texts, copied from the project's seed pages (shared/seeds)


def seed(prefix: str) -> str:
    """Text of the seed file whose name starts with ``prefix``."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def syndicated(text: str) -> str:
    """Re-templated copy: new headline and boilerplate, last paragraph dropped, a few words changed."""
    paras = [p for p in text.split("\n") if p.strip()][:-1]
    paras[3] = paras[3].replace("the", "a", 2)
    return "\n".join(["Aston Martin and LeTV team up", "Advertisement", *paras, "Share this story"])


def item(url: str, text: str, **extra: Any) -> Article:
    """An article as extraction leaves it."""
    return make_article(url, text, **extra)


def make_crawler(tmp_path: Path, **settings: Any) -> Crawler:
    return get_crawler(settings_dict={"AUTONEWS_STATE": str(tmp_path / "state.sqlite3"), **settings})


def pipeline(crawler: Crawler) -> DedupePipeline:
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.open_spider()
    return pipe


def stat(crawler: Crawler, key: str) -> int:
    assert crawler.stats is not None
    return crawler.stats.get_value(f"autonews/{key}", 0)


def test_dedupe_keys_use_canonical_and_aliases() -> None:
    keys = dedupe_keys(
        "https://www.a.example/story?utm_source=x",
        "https://A.example/story#top",
        "https://a.example/s/123",
        "Some text",
    )
    assert keys.canonical_url == "https://a.example/story"
    assert set(keys.aliases) == {"https://a.example/s/123", "https://www.a.example/story"}
    assert keys.fingerprint == text_fingerprint("some   TEXT")


def test_pipeline_drops_duplicates(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    pipe = pipeline(crawler)
    first = pipe.process_item(
        item("https://a.example/story?fbclid=1", seed("000"), request_url="https://a.example/s/1",
             canonical_hint="https://a.example/story")
    )
    assert first.canonical_url == "https://a.example/story"
    assert first.fingerprint == text_fingerprint(seed("000"))
    assert first.duplicate_of is None

    cases = [
        ("duplicate_url", item("https://a.example/s/1", "whatever changed text")),
        ("duplicate_text", item("https://b.example/copy", seed("000").upper())),
        ("near_duplicate", item("https://c.example/syndicated", syndicated(seed("000")))),
    ]
    for kind, dup in cases:
        with pytest.raises(DropItem) as exc:
            pipe.process_item(dup)
        assert kind in str(exc.value) and "https://a.example/story" in str(exc.value)
        assert len(str(exc.value)) < 200
        assert not hasattr(dup, "body")  # no raw HTML for DropItem to log
        assert stat(crawler, f"dropped/{kind}") == 1
        assert stat(crawler, f"dedupe/{kind}") == 1

    # Same story, different articles: never merged.
    for n, prefix in enumerate(["001", "002", "003"], start=1):
        kept = pipe.process_item(item(f"https://d.example/{n}", seed(prefix)))
        assert kept.duplicate_of is None
    assert stat(crawler, "dedupe/unique") == 4
    # A dropped copy's URL is remembered so it is not fetched again.
    assert pipe.store is not None and pipe.store.has_url("https://c.example/syndicated")


def test_state_survives_runs_only_when_committed(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    pipe = pipeline(crawler)
    pipe.process_item(item("https://a.example/1", seed("000")))
    open_store(crawler).commit()  # what the storage pipeline does after fsync
    pipe.process_item(item("https://a.example/2", seed("002")))
    crawler.signals.send_catch_log(signal=signals.spider_closed, spider=None, reason="finished")
    assert pipe.store is not None and getattr(pipe.store, "closed")

    crawler2 = make_crawler(tmp_path)
    pipe2 = pipeline(crawler2)
    with pytest.raises(DropItem):
        pipe2.process_item(item("https://other.example/x", syndicated(seed("000"))))
    assert stat(crawler2, "dropped/near_duplicate") == 1
    # Never committed, so not seen: written again rather than lost.
    again = pipe2.process_item(item("https://a.example/2", seed("002")))
    assert again.canonical_url == "https://a.example/2"
    close_store(crawler2)


def test_keep_duplicates_marks_copies(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path, AUTONEWS_KEEP_DUPLICATES=True)
    pipe = pipeline(crawler)
    pipe.process_item(item("https://a.example/1", seed("000"), canonical_hint="https://a.example/orig"))
    near = pipe.process_item(item("https://b.example/1", syndicated(seed("000"))))
    assert near.duplicate_of == "https://a.example/orig"
    exact = pipe.process_item(item("https://c.example/1", seed("000")))
    assert exact.duplicate_of == "https://a.example/orig"
    assert stat(crawler, "kept_duplicate/near_duplicate") == 1
    assert stat(crawler, "kept_duplicate/duplicate_text") == 1
    assert stat(crawler, "dropped/near_duplicate") == 0
    # A re-fetched URL is dropped even in this mode: its record exists already.
    with pytest.raises(DropItem):
        pipe.process_item(item("https://b.example/1", syndicated(seed("000"))))
    # Copies point at the first-seen article, not at each other.
    third = pipe.process_item(item("https://d.example/1", syndicated(seed("000")) + "\nExtra line"))
    assert third.duplicate_of == "https://a.example/orig"
    close_store(crawler)


def _article(url: str) -> Request:
    return Request(url, meta={"autonews_kind": "article"})


def test_seen_middleware_skips_seen_articles_only(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path)
    pipe = pipeline(crawler)
    pipe.process_item(
        item("https://a.example/final", seed("000"), request_url="https://a.example/redirect?utm_source=x",
             canonical_hint="https://a.example/canonical")
    )
    mw = SeenUrlMiddleware.from_crawler(crawler)
    # Every form (requested, final, canonical) counts as seen, even before commit.
    for url in ("https://a.example/redirect", "https://A.example/final#x", "https://a.example/canonical?gclid=1"):
        with pytest.raises(IgnoreRequest):
            mw.process_request(_article(url))
    assert stat(crawler, "skipped/seen_url") == 3
    assert mw.process_request(_article("https://a.example/new")) is None
    assert mw.process_request(Request("https://a.example/final")) is None  # feed/section: always fetched
    assert mw.process_request(Request("https://a.example/final", meta={"autonews_kind": "feed"})) is None
    assert stat(crawler, "skipped/seen_url") == 3
    close_store(crawler)


def test_seen_middleware_reads_previous_runs(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.sqlite3")
    store.add("https://a.example/old")
    store.commit()
    store.close()
    crawler = make_crawler(tmp_path)
    mw = SeenUrlMiddleware.from_crawler(crawler)
    with pytest.raises(IgnoreRequest):
        mw.process_request(_article("https://a.example/old"))
    close_store(crawler)


def test_seen_middleware_can_be_disabled(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        SeenUrlMiddleware.from_crawler(make_crawler(tmp_path, AUTONEWS_SKIP_SEEN=False))
