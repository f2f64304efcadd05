"""The dedupe stage's settings, its per-day version cap and what a dropped copy carries (pipelines.dedupe.pipeline).

The CLI tests check these through a crawl, in a subprocess; these check them in-process, so that the
mutation run (issue 25) sees them: each setting reaching the decision it names, the cap counted per UTC
day whatever the machine's time zone, the pool's precomputed keys being used, and a dropped copy
carrying what the drop journal and the storage stage need.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.analysis import AnalysisPlan, analyse_text, analysis_plan
from pipelines.dedupe.journal import DroppedCopy
from pipelines.dedupe.neardup import near_signature, signature_hashes, text_fingerprint
from pipelines.dedupe.pipeline import DedupePipeline, DuplicateDropped, dedupe_keys
from pipelines.items import Article, TextAnalysis
from pipelines.state.backend import close_store
from tests.conftest import make_article

REWRITES = Path(__file__).parent / "fixtures" / "rewrites"
URL = "https://a.example/2026/plant"
V1 = " ".join(f"Paragraph {i}: the plant in Ohio will build {i} thousand battery packs a year." for i in range(40))


def version(n: int) -> str:
    """The text of the article's ``n``-th version (each adds one correction)."""
    return V1 + "".join(f" Correction {k}: the figure in paragraph {k} was revised." for k in range(2, n + 1))


def rewrite(name: str) -> str:
    return (REWRITES / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture
def crawlers(tmp_path: Path) -> Iterator[Any]:
    """Makes crawlers on one state file (one per run); closes their stores at the end."""
    made: list[Crawler] = []

    def make(**settings: Any) -> Crawler:
        made.append(get_crawler(settings_dict={"AUTONEWS_STATE": str(tmp_path / "state.sqlite3"), **settings}))
        return made[-1]

    yield make
    for crawler in made:
        close_store(crawler)


def stat(crawler: Crawler, key: str) -> int:
    assert crawler.stats is not None
    return crawler.stats.get_value(f"autonews/{key}", 0)


def recheck(n: int, **extra: Any) -> Article:
    """The stored article fetched again on purpose, holding its ``n``-th text."""
    return make_article(URL, version(n), recheck=True, **extra)


def test_a_plain_pipeline_drops_copies_and_asks_the_extraction_for_the_keys(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline(crawler)  # every option at its default
    assert analysis_plan(crawler).dedupe_keys is True
    # what the pool task then computes is what this stage would compute itself
    computed = analyse_text(V1, None, (), analysis_plan(crawler))
    assert computed.fingerprint == text_fingerprint(V1) and computed.signature_hashes == signature_hashes(V1)
    pipe.process_item(make_article(URL, V1))
    with pytest.raises(DuplicateDropped):
        pipe.process_item(make_article("https://b.example/copy", V1))


def test_keep_duplicates_setting_reaches_the_pipeline(crawlers: Any) -> None:
    crawler = crawlers(AUTONEWS_KEEP_DUPLICATES=True)
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.process_item(make_article(URL, V1))
    kept = pipe.process_item(make_article("https://b.example/copy", V1))
    assert kept.duplicate_of == URL


@pytest.mark.parametrize(("threshold", "merged"), [("0.3", True), ("0.4", False), ("0.6", False)])
def test_near_threshold_setting_decides_a_pair_at_0_32(crawlers: Any, threshold: str, merged: bool) -> None:
    """The other outlet's story scores ~0.32 against the original: merged under 0.3, kept at 0.4."""
    crawler = crawlers(AUTONEWS_NEAR_THRESHOLD=threshold)
    pipe = DedupePipeline.from_crawler(crawler)
    assert pipe.threshold == float(threshold)
    pipe.process_item(make_article("https://news.example/volvo", rewrite("original")))
    other = make_article("https://other.example/volvo", rewrite("loose_rewrite"))
    if merged:
        with pytest.raises(DuplicateDropped, match="near_duplicate"):
            pipe.process_item(other)
    else:
        assert pipe.process_item(other).duplicate_of is None


def test_near_threshold_setting_can_keep_a_syndicated_edit(crawlers: Any) -> None:
    crawler = crawlers(AUTONEWS_NEAR_THRESHOLD=0.6)  # the syndicated edit scores ~0.57
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.process_item(make_article("https://news.example/volvo", rewrite("original")))
    assert pipe.process_item(make_article("https://wire.example/volvo", rewrite("close_rewrite"))).duplicate_of is None


def _write_versions(pipe: DedupePipeline, crawler: Crawler, upto: int) -> None:
    """Store version 1, then re-fetch versions 2..upto (each a new version)."""
    pipe.process_item(make_article(URL, version(1)))
    for n in range(2, upto + 1):
        assert pipe.process_item(recheck(n)).version == n


def _assert_capped(pipe: DedupePipeline, crawler: Crawler, n: int, cap: int) -> None:
    with pytest.raises(DropItem) as dropped:
        pipe.process_item(recheck(n))
    assert not isinstance(dropped.value, DuplicateDropped)  # not journaled: the article is still due
    assert str(dropped.value) == f"version_cap: {cap} versions of {URL} today"
    assert stat(crawler, "dropped/version_cap") == 1


@pytest.mark.parametrize("cap", [1, 2])
def test_versions_per_day_setting_caps_new_versions(crawlers: Any, cap: int) -> None:
    crawler = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=cap)
    pipe = DedupePipeline.from_crawler(crawler)
    _write_versions(pipe, crawler, cap + 1)
    assert stat(crawler, "dedupe/new_version") == cap
    _assert_capped(pipe, crawler, cap + 2, cap)
    # the capped text changed nothing: the latest stored version is still the last one written
    assert pipe.store is not None and pipe.store.find_article(URL).version == cap + 1


def test_default_cap_is_three_versions_a_day(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline.from_crawler(crawler)
    _write_versions(pipe, crawler, 4)
    _assert_capped(pipe, crawler, 5, 3)


def test_an_unchanged_refetch_at_the_cap_is_a_plain_duplicate(crawlers: Any) -> None:
    crawler = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=1)
    pipe = DedupePipeline.from_crawler(crawler)
    _write_versions(pipe, crawler, 2)
    with pytest.raises(DuplicateDropped) as dropped:
        pipe.process_item(recheck(2))  # the latest text again
    assert dropped.value.recheck is True
    assert dropped.value.copy == DroppedCopy(URL, (), URL, "duplicate_url")
    assert stat(crawler, "dropped/version_cap") == 0


def test_a_recheck_of_an_unknown_article_is_new(crawlers: Any) -> None:
    crawler = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=1)
    pipe = DedupePipeline.from_crawler(crawler)
    assert pipe.process_item(recheck(1)).version == 1
    assert stat(crawler, "dedupe/unique") == 1


def test_zero_means_no_cap_and_no_daily_count(crawlers: Any) -> None:
    crawler = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=0)
    pipe = DedupePipeline.from_crawler(crawler)
    _write_versions(pipe, crawler, 6)
    assert stat(crawler, "dropped/version_cap") == 0
    assert pipe.store is not None and pipe.store.url_memory(URL) is None  # nothing counted without a cap


def test_zero_lifts_the_cap_after_a_capped_run_the_same_day(crawlers: Any) -> None:
    first = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=1)
    pipe = DedupePipeline.from_crawler(first)
    _write_versions(pipe, first, 2)
    pipe.store.commit()
    close_store(first)
    second = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=0)
    again = DedupePipeline.from_crawler(second)
    assert again.process_item(recheck(3)).version == 3


@pytest.fixture
def local_day_is_not_the_utc_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Puts the process in a time zone whose date differs from the UTC date right now."""
    hour = datetime.now(timezone.utc).hour
    monkeypatch.setenv("TZ", "WEST12" if hour < 12 else "EAST-14")  # UTC-12 before noon UTC, UTC+14 after
    time.tzset()
    assert datetime.now().date() != datetime.now(timezone.utc).date()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_cap_counts_utc_days_whatever_the_local_time_zone(crawlers: Any, local_day_is_not_the_utc_day: None) -> None:
    crawler = crawlers(AUTONEWS_MAX_VERSIONS_PER_DAY=1)
    pipe = DedupePipeline.from_crawler(crawler)
    _write_versions(pipe, crawler, 2)
    memory = pipe.store.url_memory(URL)
    assert memory is not None and memory.versions_day == datetime.now(timezone.utc).date()
    _assert_capped(pipe, crawler, 3, 1)


def test_a_dropped_copy_carries_its_keys_and_owner(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.process_item(make_article(URL, V1))
    copy = make_article("https://b.example/copy?utm_source=x", V1, request_url="https://b.example/r/1",
                        canonical_hint="https://b.example/copy")
    with pytest.raises(DuplicateDropped) as dropped:
        pipe.process_item(copy)
    assert dropped.value.recheck is False
    assert dropped.value.copy == DroppedCopy("https://b.example/copy", ("https://b.example/r/1",), URL,
                                             "duplicate_text")
    assert DuplicateDropped(dropped.value.copy).recheck is False  # a crawl's copy unless said otherwise


def test_the_store_keeps_the_pages_validators(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.process_item(make_article(URL, V1, etag='"v1"', last_modified="Fri, 20 Nov 2026 10:00:00 GMT"))
    stored = pipe.store.find_article(URL)
    assert stored is not None
    assert (stored.etag, stored.last_modified) == ('"v1"', "Fri, 20 Nov 2026 10:00:00 GMT")


def test_a_canonical_hint_to_another_source_is_not_trusted(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline.from_crawler(crawler)
    item = make_article("https://a.example/story", V1, canonical_hint="https://victim.example/story",
                        source_domains=("a.example",))
    assert pipe.process_item(item).canonical_url == "https://a.example/story"
    keys = dedupe_keys(item.url, item.canonical_hint, None, V1, ("a.example",))
    assert keys.canonical_url == "https://a.example/story"
    assert dedupe_keys(item.url, item.canonical_hint, None, V1, None).canonical_url == "https://victim.example/story"


def test_keys_computed_with_the_extraction_are_used() -> None:
    """The pool task's fingerprint and hashes are taken as they are (not computed again from the text)."""
    other = rewrite("original")
    computed = TextAnalysis(fingerprint=text_fingerprint(other), signature_hashes=signature_hashes(other))
    keys = dedupe_keys("https://a.example/x?utm_source=y", None, "https://a.example/r", V1, (), computed)
    assert keys.canonical_url == "https://a.example/x" and keys.aliases == ("https://a.example/r",)
    assert keys.fingerprint == text_fingerprint(other)
    assert keys.signature == near_signature(other)
    # a text too short to sign: the pool computed no hashes, so there is no signature
    short = TextAnalysis(fingerprint=text_fingerprint("a short text"), signature_hashes=None)
    assert dedupe_keys("https://a.example/x", None, None, V1, (), short).signature is None
    # no keys computed by the pool (fingerprint None): computed here from the text
    own = dedupe_keys("https://a.example/x", None, None, V1, (), TextAnalysis())
    assert own.fingerprint == text_fingerprint(V1) and own.signature == near_signature(V1)


def test_the_pipeline_uses_the_articles_analysis(crawlers: Any) -> None:
    crawler = crawlers()
    pipe = DedupePipeline.from_crawler(crawler)
    other = rewrite("original")
    plan = AnalysisPlan(dedupe_keys=True)
    item = make_article(URL, V1, analysis=analyse_text(other, None, (), plan))
    assert pipe.process_item(item).fingerprint == text_fingerprint(other)
