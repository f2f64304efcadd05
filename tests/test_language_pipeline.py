"""The language stage's settings, its use of the extraction's result, and what it counts (issue 25's mutation run
found these unchecked: a setting that was never read, a cached result used with other options)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.analysis import analysis_plan
from pipelines.items import Article, LanguageOptions, TextAnalysis
from pipelines.language.detect import CHAR_BUDGET, MIN_PARAGRAPH_CHARS, MIXED_SHARE, LanguageResult
from pipelines.language.pipeline import LanguagePipeline, check_policy
from tests.conftest import make_article

ENGLISH = (Path(__file__).parent / "fixtures" / "rewrites" / "original.txt").read_text(encoding="utf-8")
GERMAN = ("Der Autohersteller will das neue Elektromodell ab der zweiten Jahreshälfte im belgischen Werk bauen, "
          "nachdem die Europäische Union zusätzliche Zölle auf in China gefertigte Fahrzeuge erhoben hat. "
          "Die Gewerkschaften begrüßten die Entscheidung, forderten aber Garantien für die Arbeitsplätze.")
NINE_AND_ONE = "\n\n".join([*ENGLISH.split("\n\n")[:9], GERMAN])  # German holds exactly 0.1 of the segments


def build(**settings: Any) -> tuple[LanguagePipeline, Any]:
    """A pipeline from a test crawler with ``settings``, detecting inline; returns it and the crawler."""
    crawler = get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 0, **settings})
    return LanguagePipeline.from_crawler(crawler), crawler


def process(pipeline: LanguagePipeline, item: Article) -> Article:
    """Run ``process_item`` to completion."""
    return asyncio.run(pipeline.process_item(item))


def test_defaults_without_settings() -> None:
    pipeline, crawler = build()
    assert pipeline.policy == "flag"
    assert pipeline.options == LanguageOptions(MIN_PARAGRAPH_CHARS, CHAR_BUDGET, MIXED_SHARE)
    assert analysis_plan(crawler).language == pipeline.options  # the extraction's pool task detects with them


def test_every_setting_is_read() -> None:
    pipeline, crawler = build(AUTONEWS_NON_ENGLISH_POLICY=" Route ", AUTONEWS_MIXED_LANGUAGE_SHARE="0.25",
                              AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS="77", AUTONEWS_LANGUAGE_CHAR_BUDGET="1234")
    assert pipeline.policy == "route"
    assert pipeline.options == LanguageOptions(77, 1234, 0.25)
    assert (pipeline.min_paragraph_chars, pipeline.char_budget, pipeline.mixed_share) == (77, 1234, 0.25)
    assert analysis_plan(crawler).language == LanguageOptions(77, 1234, 0.25)


@pytest.mark.parametrize("share", ["0", "-0.1", "1.01", "2"])
def test_mixed_share_outside_0_1_is_refused(share: str) -> None:
    with pytest.raises(ValueError, match=r"AUTONEWS_MIXED_LANGUAGE_SHARE must be in \(0, 1\]"):
        build(AUTONEWS_MIXED_LANGUAGE_SHARE=share)


def test_mixed_share_of_one_is_allowed() -> None:
    assert build(AUTONEWS_MIXED_LANGUAGE_SHARE="1")[0].mixed_share == 1.0


def test_check_policy_names_the_choices() -> None:
    assert check_policy(None) == "flag" and check_policy(" DROP ") == "drop"
    with pytest.raises(ValueError) as exc:
        check_policy("bogus")
    assert str(exc.value) == "AUTONEWS_NON_ENGLISH_POLICY must be one of flag, route, drop; got 'bogus'"


def test_the_mixed_share_setting_reaches_detection() -> None:
    default = process(build()[0], make_article("https://a.example/1", NINE_AND_ONE))
    assert default.flags == ["mixed_language"] and default.languages == {"en": 0.9, "de": 0.1}
    higher = process(build(AUTONEWS_MIXED_LANGUAGE_SHARE="0.2")[0], make_article("https://a.example/1", NINE_AND_ONE))
    assert higher.flags == [] and higher.language == "en"


def test_the_paragraph_setting_reaches_detection() -> None:
    # With paragraphs this long, nothing is a paragraph of its own: the text is too short to judge.
    pipeline, crawler = build(AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS="100000")
    item = process(pipeline, make_article("https://a.example/1", NINE_AND_ONE))
    plain = process(build()[0], make_article("https://a.example/1", NINE_AND_ONE))
    assert (item.language, item.languages) != (plain.language, plain.languages)


def test_the_budget_setting_reaches_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    import pipelines.language.detect as detect

    original = detect.sample_segments

    def spy(segments: Any, english_like: Any, budget: int, *args: Any) -> Any:
        seen.append(budget)
        return original(segments, english_like, budget, *args)

    monkeypatch.setattr(detect, "sample_segments", spy)
    process(build(AUTONEWS_LANGUAGE_CHAR_BUDGET="4321")[0], make_article("https://a.example/1", NINE_AND_ONE))
    assert seen == [4321]


def _with_analysis(options: LanguageOptions, result: LanguageResult) -> Article:
    item = make_article("https://a.example/1", ENGLISH)
    item.analysis = TextAnalysis(language=result, language_options=options)
    return item


GERMAN_RESULT = LanguageResult("de", {"de": 1.0}, ["non_english"], None, ())


def test_the_extractions_result_is_used_when_made_with_the_same_options() -> None:
    pipeline, crawler = build()
    item = process(pipeline, _with_analysis(pipeline.options, GERMAN_RESULT))
    assert item.language == "de" and item.flags == ["non_english"]  # not detected again (the text is English)
    assert crawler.stats.get_value("autonews/non_english") == 1


def test_a_result_made_with_other_options_is_detected_again() -> None:
    pipeline, crawler = build()
    other = LanguageOptions(MIN_PARAGRAPH_CHARS, CHAR_BUDGET, 0.3)
    item = process(pipeline, _with_analysis(other, GERMAN_RESULT))
    assert item.language == "en" and item.flags == []
    assert crawler.stats.get_value("autonews/non_english") is None


def test_an_analysis_without_a_language_is_detected_here() -> None:
    pipeline, _ = build()
    item = make_article("https://a.example/1", ENGLISH)
    item.analysis = TextAnalysis(language=None, language_options=pipeline.options)
    assert process(pipeline, item).language == "en"


@pytest.mark.parametrize(("expected", "counted"), [("de", 1), ("en", None), (None, None), ("", None)])
def test_language_mismatch_counted_only_when_both_known_and_different(expected: str | None, counted: int | None) -> None:
    pipeline, crawler = build()
    process(pipeline, make_article("https://a.example/1", ENGLISH, expected_language=expected))
    assert crawler.stats.get_value("autonews/language_mismatch") == counted


def test_no_mismatch_when_the_language_is_unknown() -> None:
    pipeline, crawler = build()
    process(pipeline, make_article("https://a.example/1", "12 345", expected_language="de"))
    assert crawler.stats.get_value("autonews/language_mismatch") is None


@pytest.mark.parametrize(("language", "shown"), [("de", "non-English (de)"), (None, "non-English (unknown)")])
def test_drop_names_the_language(language: str | None, shown: str) -> None:
    pipeline, crawler = build(AUTONEWS_NON_ENGLISH_POLICY="drop")
    result = LanguageResult(language, {}, ["non_english"], None, ())
    with pytest.raises(DropItem) as exc:
        pipeline.apply(make_article("https://a.example/x", ENGLISH), result)
    assert str(exc.value) == f"{shown}: https://a.example/x"
    assert crawler.stats.get_value("autonews/dropped/non_english") == 1


def test_built_directly_the_policy_is_flag() -> None:
    assert LanguagePipeline(get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 0})).policy == "flag"


def test_a_page_the_pool_gave_up_on_is_an_error_of_its_source_and_dropped_with_its_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection over AUTONEWS_PAGE_TIMEOUT, or whose worker died twice: counted under its label for the
    article's source (the summary, run report and health read these), dropped with a message naming it."""
    import pipelines.language.pipeline as stage
    from pipelines.pool import TaskFailed

    class GivesUp:
        async def run(self, *args: Any) -> Any:
            raise TaskFailed("page_timeout", "ran over 60 s")

    monkeypatch.setattr(stage, "cpu_pool", lambda crawler: GivesUp())
    pipeline, crawler = build()
    item = make_article("https://example.com/a", ENGLISH, source="evpulse")
    with pytest.raises(DropItem) as dropped:
        process(pipeline, item)
    assert str(dropped.value) == "page_timeout: ran over 60 s: https://example.com/a"
    stats = crawler.stats.get_stats()
    assert stats["autonews/errors/page_timeout"] == 1 and stats["autonews/errors/total"] == 1
    assert stats["autonews/source/evpulse/errors"] == 1 and stats["autonews/source/evpulse/errors/page_timeout"] == 1
