"""One pool task per page (pipelines/analysis.py): the extraction stage's task also runs the language and
dedupe stages' pure computations, and each stage uses them as if it had computed them itself."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from pipelines.analysis import AnalysisPlan, analyse_page, analysis_plan
from pipelines.dedupe.neardup import near_signature, signature_from_hashes, signature_hashes, text_fingerprint
from pipelines.dedupe.pipeline import DedupePipeline, dedupe_keys
from pipelines.extract.pipeline import ExtractPipeline
from pipelines.items import Article, LanguageOptions, TextAnalysis
from pipelines.language.detect import LanguageResult, detect_languages
from pipelines.language.pipeline import LanguagePipeline
from tests.conftest import REPO, make_page

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def crawler_with(**settings: Any) -> Any:
    """A crawler that runs the pool's calls inline."""
    return get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 0, **settings})


def extract(crawler: Any, name: str, **page: Any) -> Article:
    """The article the extraction stage makes of a fixture page."""
    crawler.stats.open_spider()
    item = make_page((FIXTURES / name).read_bytes(), f"https://example.com/{name}", **page)
    return asyncio.run(ExtractPipeline.from_crawler(crawler).process_item(item))


@pytest.mark.parametrize(("name", "content_languages"), [("scmp_cp1252.html", ("en", "zh")),
                                                          ("insideevs_comments.html", ()),
                                                          ("evxl_door.html", ("de",))])
def test_the_analysis_is_what_the_stages_would_compute_from_the_article(name: str,
                                                                         content_languages: tuple[str, ...]) -> None:
    crawler = crawler_with(AUTONEWS_MIXED_LANGUAGE_SHARE=0.2, AUTONEWS_LANGUAGE_CHAR_BUDGET=600)
    language, _ = LanguagePipeline.from_crawler(crawler), DedupePipeline.from_crawler(crawler)
    article = extract(crawler, name, content_languages=content_languages)
    found = article.analysis
    assert found is not None and found.language_options == language.options
    assert found.language == detect_languages(article.text, article.title, article.declared_languages,
                                              min_paragraph_chars=language.min_paragraph_chars,
                                              char_budget=600, mixed_share=0.2)
    assert found.fingerprint == text_fingerprint(article.text)
    assert found.signature_hashes == signature_hashes(article.text) and found.signature_hashes is not None
    assert signature_from_hashes(found.signature_hashes) == near_signature(article.text)


def test_a_crawl_without_language_or_dedupe_stage_computes_neither() -> None:
    article = extract(crawler_with(), "insideevs_comments.html")
    assert article.analysis == TextAnalysis()
    assert analyse_page(b"<html><body><p>menu</p></body></html>", "https://example.com/", min_chars=200) is None
    found = analyse_page((FIXTURES / "insideevs_comments.html").read_bytes(), "https://example.com/a", min_chars=200,
                         plan=AnalysisPlan(dedupe_keys=True))
    assert found is not None and found.analysis.language is None and found.analysis.fingerprint is not None


def test_each_stage_asks_for_its_part_when_built() -> None:
    crawler = crawler_with(AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS=80)
    assert analysis_plan(crawler) == AnalysisPlan()
    LanguagePipeline.from_crawler(crawler)
    assert analysis_plan(crawler).language == LanguageOptions(80, 1000, 0.10)
    assert not analysis_plan(crawler).dedupe_keys
    DedupePipeline.from_crawler(crawler)
    assert analysis_plan(crawler).dedupe_keys
    assert analysis_plan(crawler) is analysis_plan(crawler)


def _article(analysis: TextAnalysis | None) -> Article:
    return Article(url="https://example.com/a", request_url="https://example.com/a", source="test",
                   fetched_at="2026-01-01T00:00:00+00:00", title="Tesla cuts prices", authors=[], published=None,
                   modified=None, description=None, site_name=None, image=None, tags=[],
                   text="Tesla cut the prices of its cars in the United States again this week.", analysis=analysis)


def test_the_language_stage_uses_a_result_made_with_its_own_options_only() -> None:
    crawler = crawler_with()
    crawler.stats.open_spider()
    stage = LanguagePipeline.from_crawler(crawler)
    planted = LanguageResult("xx", {"xx": 1.0}, [])
    same = asyncio.run(stage.process_item(_article(TextAnalysis(planted, stage.options))))
    assert same.language == "xx"
    other = replace(stage.options, char_budget=stage.char_budget + 1)
    recomputed = asyncio.run(stage.process_item(_article(TextAnalysis(planted, other))))
    assert recomputed.language == "en"
    assert asyncio.run(stage.process_item(_article(None))).language == "en"


def test_dedupe_keys_use_the_computed_fingerprint_and_shingle_hashes() -> None:
    article = _article(None)
    computed = TextAnalysis(fingerprint="f" * 32, signature_hashes=None)
    keys = dedupe_keys(article.url, None, article.request_url, article.text, computed=computed)
    assert (keys.fingerprint, keys.signature) == ("f" * 32, None)
    long_text = " ".join(f"word{i}" for i in range(40))
    computed = TextAnalysis(fingerprint="f" * 32, signature_hashes=signature_hashes(long_text))
    keys = dedupe_keys(article.url, None, article.request_url, article.text, computed=computed)
    assert keys.signature == near_signature(long_text) and keys.signature is not None
    fresh = dedupe_keys(article.url, None, article.request_url, article.text, computed=TextAnalysis())
    assert fresh.fingerprint == text_fingerprint(article.text)


def test_the_crawl_process_loads_no_extraction_or_minhash_code() -> None:
    # it only names analyse_page to the pool: trafilatura's extraction modules, numpy and datasketch stay
    # in the workers (AUTONEWS_POOL_PROCESSES=0 imports them on first use)
    code = ("import sys, crawler.settings, pipelines.extract.pipeline, pipelines.language.pipeline, "
            "pipelines.dedupe.pipeline, pipelines.storage.pipeline; "
            "print(sorted({'pipelines.extract.article', 'numpy', 'datasketch'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "[]"
