"""Hand-made cases for the pure helpers of tests.benchmarks.records_diff (no git, no benchmark data)."""
from __future__ import annotations

from tests.benchmarks.records_diff import (
    MISSING,
    Records,
    article_changes,
    changed_fields,
    f1_changes,
    field_lines,
    flat_record,
    page_f1,
    shorten,
    strict_failures,
)

TRUTH = "one two three four five six seven eight"


def test_flat_record_merges_language_fields_and_keeps_absent_fields_absent() -> None:
    entry = {"key": "a", "record": {"title": "T", "text": "x", "extra": 1},
             "language": {"language": "en", "languages": {"en": 1.0}, "flags": ["mixed_language"], "declared": []}}
    flat = flat_record(entry)
    assert flat == {"title": "T", "text": "x", "language": "en", "languages": {"en": 1.0},
                    "language_flags": ["mixed_language"]}
    assert flat_record({"key": "a", "record": None, "language": None}) is None


def test_flat_record_reads_the_older_declared_languages_spelling() -> None:
    flat = flat_record({"key": "a", "record": {"_declared_languages": ["de"]}, "language": None})
    assert flat == {"declared_languages": ["de"]}


def test_article_changes() -> None:
    old = {"a": {"text": "x"}, "b": None, "c": {"text": "y"}}
    new = {"a": None, "b": {"text": "z"}, "c": {"text": "y"}}
    assert article_changes(old, new) == (["a"], ["b"])


def test_changed_fields_only_counts_pages_that_are_articles_in_both() -> None:
    old: Records = {"a": {"title": "A", "authors": []}, "b": {"title": "B"}, "c": None}
    new: Records = {"a": {"title": "A2", "authors": []}, "b": {"title": "B", "authors": ["X"]}, "c": {"title": "C"}}
    changes = changed_fields(old, new, ("title", "authors"))
    assert changes == {"title": ["a"], "authors": ["b"]}  # b: absent before, a value after


def test_page_f1() -> None:
    assert page_f1(TRUTH, TRUTH) == 1.0
    assert page_f1(TRUTH, None) == 0.0
    assert 0.0 < page_f1(TRUTH, "one two three four five") < 1.0


def test_f1_changes_lists_pages_whose_text_or_article_status_changed() -> None:
    truth = {"a": TRUTH, "b": TRUTH, "c": TRUTH}
    old = {"a": {"text": TRUTH}, "b": {"text": TRUTH}, "c": {"text": "one two three four five"}}
    new = {"a": {"text": TRUTH}, "b": None, "c": {"text": TRUTH}}
    f1s = f1_changes(truth, old, new)
    assert set(f1s) == {"b", "c"}
    assert f1s["b"] == (1.0, 0.0)
    assert f1s["c"][0] < f1s["c"][1] == 1.0


def test_strict_failures_tolerates_a_small_fall() -> None:
    f1s = {"a": (0.9, 0.897), "b": (0.9, 0.8), "c": (0.5, 0.9)}
    reasons = strict_failures(f1s, stopped=["d"], errors=[])
    assert len(reasons) == 2
    assert reasons[0].startswith("b: text F1 0.9000 -> 0.8000")
    assert reasons[1] == "d: no longer an article"
    assert strict_failures({}, [], ["e"]) == ["e: raised an error"]


def test_shorten() -> None:
    assert shorten("abc") == "'abc'"
    assert shorten(["a", "b"]) == '["a", "b"]'
    assert shorten(MISSING) == MISSING
    long = shorten("word " * 100, width=40)
    assert len(long) <= 40 and " ... " in long


def test_field_lines_show_examples_but_not_for_a_field_one_version_lacks() -> None:
    old = {"a": {"title": "Old"}}
    new = {"a": {"title": "New", "flags": []}}
    lines = field_lines(changed_fields(old, new, ("title", "flags")), old, new, examples=3)
    text = "\n".join(lines)
    assert "'Old'" in text and "-> 'New'" in text
    assert "flags              1 (no such field before)" in text
    assert "flags: e.g." not in text
