"""Language detection, flags and the language pipeline's non-English policy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langdetect.detector import Detector
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.items import Article
from pipelines.language.pipeline import LanguagePipeline, check_policy
from tests.conftest import make_article
from pipelines.language.codes import normalize_code, parse_declared
from pipelines.language.detect import detect_languages, detect_probabilities
from pipelines.language.sample import is_prose, pool_paragraphs, sample_segments, spread_order

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "language"
REPO = Path(__file__).resolve().parent.parent


def fixture(name: str) -> dict[str, Any]:
    """One extracted-record fixture (title, text, _declared_languages)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def detect_fixture(name: str, **kwargs: Any):
    """detect_languages on a fixture record."""
    record = fixture(name)
    return detect_languages(record["text"], record["title"], record["declared_languages"], **kwargs)


# --- the EVXL page in Dutch localisation --------------------------------------------------------------

@pytest.mark.parametrize("name", ["evxl_nl_localised", "evxl_nl_localised_footer", "evxl_nl_english_only"])
def test_evxl_dutch_localisation_is_non_english_and_mixed(name: str) -> None:
    result = detect_fixture(name)
    assert result.language == "en"
    assert set(result.flags) == {"non_english", "mixed_language"}
    assert result.title_language == "nl"
    assert result.languages["nl"] >= 0.1
    assert result.languages["en"] >= 0.7


def test_evxl_as_extracted_counts_the_dutch_headline() -> None:
    # What extraction keeps: six English paragraphs under a Dutch headline on a page declared nl.
    result = detect_fixture("evxl_nl_english_only")
    assert result.language == "en"
    assert result.flags == ["non_english", "mixed_language"]
    assert result.languages == {"en": 0.86, "nl": 0.14}


def test_dutch_subscribe_box_adds_to_the_dutch_share() -> None:
    # Six English paragraphs, one pooled Dutch subscribe box and the Dutch headline.
    assert detect_fixture("evxl_nl_localised").languages == {"en": 0.75, "nl": 0.25}


def test_evxl_mixed_threshold_is_configurable() -> None:
    assert "mixed_language" not in detect_fixture("evxl_nl_english_only", mixed_share=0.2).flags


def test_whole_text_langdetect_misses_the_dutch() -> None:
    # Why per-segment detection is needed: the whole body reads as English to langdetect.
    probabilities = detect_probabilities(fixture("evxl_nl_localised")["text"])
    assert probabilities[0][0] == "en" and probabilities[0][1] > 0.99


# --- English pages with foreign words, foreign pages ----------------------------------------------------

def test_english_with_foreign_names_and_short_quote_has_no_flags() -> None:
    result = detect_fixture("english_foreign_names")
    assert result.language == "en"
    assert result.languages == {"en": 1.0}
    assert result.flags == []


@pytest.mark.parametrize("name, language",
                         [("german", "de"), ("portuguese", "pt"), ("japanese", "ja"), ("russian", "ru")])
@pytest.mark.parametrize("with_declared", [True, False])
def test_foreign_pages(name: str, language: str, with_declared: bool) -> None:
    record = fixture(name)
    declared = record["declared_languages"] if with_declared else []
    result = detect_languages(record["text"], record["title"], declared)
    assert result.language == language
    assert result.languages == {language: 1.0}
    assert result.flags == ["non_english"]


def test_declared_language_alone_does_not_flag() -> None:
    # English pages on a site whose template says lang="de" (seen in the benchmark).
    record = fixture("english_foreign_names")
    result = detect_languages(record["text"], "10 things in tech you need to know today", ["de"])
    assert result.language == "en" and result.flags == []


def test_foreign_title_alone_does_not_flag() -> None:
    record = fixture("evxl_nl_english_only")
    assert detect_languages(record["text"], record["title"], []).flags == []


def test_declared_and_foreign_title_flag_non_english() -> None:
    record = fixture("english_foreign_names")
    result = detect_languages(record["text"], "Stellantis wil mogelijk samenwerken met Leapmotor", ["nl-NL"])
    assert result.flags[0] == "non_english"


def test_english_title_words_veto_title_language() -> None:
    record = fixture("english_foreign_names")
    result = detect_languages(record["text"], "Seeking a bigger role for the big rocket", ["da"])
    assert result.flags == []


# --- unknown language, exceptions, determinism -----------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   \n  ", "12 345 — 67.8 %", "Short line."])
def test_too_short_or_no_letters_is_unknown(text: str) -> None:
    result = detect_languages(text, None, ())
    assert result.language is None
    assert result.languages == {}
    assert result.flags == ["language_unknown"]


def test_unknown_body_with_declared_and_title_is_still_non_english() -> None:
    result = detect_languages("", "Volkswagen stellt Produktion in Zwickau auf Elektroautos um", ["de"])
    assert result.flags == ["non_english", "language_unknown"]


def test_langdetect_exception_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Detector) -> list[Any]:
        raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")

    monkeypatch.setattr(Detector, "get_probabilities", fail)
    result = detect_fixture("german")
    assert result.language is None
    assert result.languages == {}
    assert result.flags == ["language_unknown"]  # the title could not be judged either: declared de alone


ORDER_NAMES = ["evxl_nl_localised", "german", "english_foreign_names", "japanese", "russian", "portuguese"]


def _as_tuple(result: Any) -> tuple[Any, ...]:
    return (result.language, sorted(result.languages.items()), result.flags, result.title_language)


def test_same_input_same_output_in_any_order() -> None:
    forward = {name: _as_tuple(detect_fixture(name)) for name in ORDER_NAMES}
    backward = {name: _as_tuple(detect_fixture(name)) for name in reversed(ORDER_NAMES)}
    again = {name: _as_tuple(detect_fixture(name)) for name in ORDER_NAMES}
    assert forward == backward == again


def test_same_output_in_a_fresh_process() -> None:
    script = ("import json, sys; from tests.test_language import ORDER_NAMES, detect_fixture, _as_tuple;"
              "print(json.dumps({n: _as_tuple(detect_fixture(n)) for n in ORDER_NAMES[::-1]}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    fresh = json.loads(done.stdout)
    here = json.loads(json.dumps({name: _as_tuple(detect_fixture(name)) for name in ORDER_NAMES}))
    assert fresh == here


# --- helpers ---------------------------------------------------------------------------------------------

def test_pooling_joins_short_lines_and_drops_non_prose() -> None:
    text = "\n".join(["A long English paragraph about electric cars and the batteries that power them.",
                      "„Das ist erst der Anfang.“",
                      "Another long English paragraph about charging networks across the continent.",
                      "Palm Bay 18 22 13 17 — 70 Rockledge (0-1): Blakely 15 points. Devoe 2 points.",
                      "Ontdek meer van EVXL.co",
                      "Abonneer je om de nieuwste berichten naar je e-mail te laten verzenden."])
    segments = pool_paragraphs(text, 60)
    assert len(segments) == 3
    assert segments[1].startswith("„Das ist erst der Anfang.“ Another long")
    assert segments[2] == ("Ontdek meer van EVXL.co "
                           "Abonneer je om de nieuwste berichten naar je e-mail te laten verzenden.")
    assert not is_prose("GIRLS BASKETBALL Palm Bay d. Rockledge 70-44")
    assert is_prose("トヨタ自動車は、新型の電気自動車を来年春に国内で発売すると発表した。")


def test_sampling_is_bounded_and_spread() -> None:
    assert sorted(spread_order(7)) == list(range(7)) and spread_order(7)[0] == 3
    segments = ["x" * 300] * 40
    picked = sample_segments(segments, [True] * 30 + [False] * 10, budget=1000, segment_chars=200)
    assert len(picked) == 5
    assert sum(1 for index in picked if index < 30) == 3  # three English-looking, then foreign-looking
    assert sample_segments(["x"], [False], budget=0, segment_chars=200) == [0]


def test_long_text_detection_stays_within_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = Detector.append

    def counting(self: Detector, text: str) -> None:
        calls.append(len(text))
        original(self, text)

    monkeypatch.setattr(Detector, "append", counting)
    record = fixture("german")
    result = detect_languages("\n".join([record["text"]] * 30), None, (), char_budget=600)
    assert result.language == "de"
    assert len(calls) == 3 and max(calls) <= 200


def test_language_codes() -> None:
    assert normalize_code("nl-NL") == "nl" and normalize_code("pt_BR") == "pt" and normalize_code("zh-cn") == "zh"
    assert normalize_code("deu") == "de" and normalize_code("") is None and normalize_code("x-klingon") is None
    assert parse_declared(["nl-NL", "nl_NL", None, "en-US, fr;q=0.5"]) == ("nl", "en", "fr")


# --- pipeline ----------------------------------------------------------------------------------------------

def make_pipeline(**settings: Any) -> tuple[LanguagePipeline, Any]:
    """A LanguagePipeline built from a test crawler with the given settings, detecting inline (no pool)."""
    crawler = get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 0, **settings})
    return LanguagePipeline.from_crawler(crawler), crawler.stats


def process(pipeline: LanguagePipeline, item: Article) -> Article:
    """Run the pipeline's ``process_item`` to completion."""
    return asyncio.run(pipeline.process_item(item))


def item_from(name: str, **extra: Any) -> Article:
    """An article as it leaves extraction, from a fixture."""
    record = fixture(name)
    values: dict[str, Any] = {"title": record["title"], "declared_languages": tuple(record["declared_languages"]),
                              "flags": ["no_date"]}
    values.update(extra)
    return make_article(f"https://example.com/{name}", record["text"], **values)


def test_pipeline_flag_policy_keeps_and_marks() -> None:
    pipeline, stats = make_pipeline()
    item = process(pipeline, item_from("evxl_nl_localised", flags=["no_date", "non_english"]))
    assert item.language == "en" and item.languages == {"en": 0.75, "nl": 0.25}
    assert item.flags == ["no_date", "non_english", "mixed_language"]
    assert item.route == ""
    assert stats.get_value("autonews/non_english") == 1
    assert stats.get_value("autonews/mixed_language") == 1
    assert stats.get_value("autonews/language_unknown") is None


def test_pipeline_route_policy() -> None:
    pipeline, stats = make_pipeline(AUTONEWS_NON_ENGLISH_POLICY="route")
    german = process(pipeline, item_from("german"))
    english = process(pipeline, item_from("english_foreign_names"))
    assert german.route == "non-english" and german.language == "de"
    assert english.route == "" and english.flags == ["no_date"]
    assert stats.get_value("autonews/routed/non_english") == 1


def test_pipeline_drop_policy() -> None:
    pipeline, stats = make_pipeline(AUTONEWS_NON_ENGLISH_POLICY="drop")
    item = item_from("russian")
    with pytest.raises(DropItem, match="non-English"):
        process(pipeline, item)
    assert not hasattr(item, "body")  # an article carries no raw HTML for DropItem to log
    assert stats.get_value("autonews/dropped/non_english") == 1
    assert process(pipeline, item_from("english_foreign_names")).language == "en"


@pytest.mark.parametrize("policy", ["delete", "", 3])
def test_invalid_policy_fails_at_startup(policy: Any) -> None:
    if policy == "":
        assert check_policy(policy) == "flag"  # unset means the default
        return
    with pytest.raises(ValueError, match="AUTONEWS_NON_ENGLISH_POLICY"):
        make_pipeline(AUTONEWS_NON_ENGLISH_POLICY=policy)


def test_pipeline_uses_content_language_header_and_reports_mismatch() -> None:
    pipeline, stats = make_pipeline()
    # extraction puts the Content-Language header's languages after the page's own (none here)
    item = item_from("evxl_nl_english_only", declared_languages=parse_declared(["nl-NL, en"]),
                     expected_language="nl")
    item = process(pipeline, item)
    assert item.flags == ["no_date", "non_english", "mixed_language"]
    assert stats.get_value("autonews/language_mismatch") == 1


def test_pipeline_unknown_language() -> None:
    pipeline, stats = make_pipeline()
    item = process(pipeline, make_article("https://example.com/x", "12 345"))
    assert item.language is None and item.languages == {} and item.flags == ["language_unknown"]
    assert stats.get_value("autonews/language_unknown") == 1
