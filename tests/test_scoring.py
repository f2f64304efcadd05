"""Hand-made cases for tests.benchmarks.scoring (the article-extraction benchmark scorer)."""
from __future__ import annotations

import pytest

from tests.benchmarks.scoring import evaluate, score_page, shingles, tokenize


def test_tokenize_is_unicode_word_runs_case_kept() -> None:
    assert tokenize("Ça va? Très-bien, 2 000 €!") == ["Ça", "va", "Très", "bien", "2", "000"]
    assert tokenize(None) == []


def test_shingles_overlap_and_short_texts() -> None:
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b") == {("a", "b"): 1}  # under 4 tokens: one shingle
    assert shingles("...") == {}
    assert shingles("x y z w x y z w")[("x", "y", "z", "w")] == 2  # a multiset


def test_page_counts_are_normalised() -> None:
    page = score_page("a b c d e f", "a b c d e f g h")  # truth 3 shingles, pred 5, 3 shared
    assert (page.tp, page.fp, page.fn) == pytest.approx((3 / 5, 2 / 5, 0.0))
    assert page.precision == pytest.approx(0.6) and page.recall == 1.0 and not page.exact


def test_exact_match_ignores_punctuation_and_spacing() -> None:
    page = score_page("Hello, world!\nSecond line.", "Hello world Second   line")
    assert page.exact and page.precision == 1.0 and page.recall == 1.0


def test_both_empty_scores_one_and_missing_prediction_scores_zero_recall() -> None:
    empty = score_page("", "")
    assert empty.precision == 1.0 and empty.recall == 1.0
    missing = score_page("a b c d", None)
    assert not missing.has_pred and missing.recall == 0.0


def test_f1_is_harmonic_mean_of_means_not_mean_of_f1() -> None:
    truth = {"p1": "a b c d e f", "p2": "k l m n o p q r"}
    pred = {"p1": "a b c d e f g h", "p2": "k l m n"}  # p1: P .6 R 1; p2: P 1 R .2
    m = evaluate(truth, pred)
    assert m.precision == pytest.approx(0.8) and m.recall == pytest.approx(0.6)
    assert m.f1 == pytest.approx(2 * 0.8 * 0.6 / 1.4)
    mean_of_f1 = (2 * 0.6 / 1.6 + 2 * 0.2 / 1.2) / 2
    assert m.f1 != pytest.approx(mean_of_f1)
    assert m.accuracy == 0.0 and m.n == 2


def test_pages_without_prediction_leave_precision_mean_but_count_in_recall() -> None:
    truth = {"p1": "a b c d e", "p2": "v w x y z"}
    m = evaluate(truth, {"p1": "a b c d e"})  # p2 missing
    assert m.precision == 1.0 and m.recall == pytest.approx(0.5) and m.accuracy == pytest.approx(0.5)


def test_bootstrap_gives_a_spread_and_is_deterministic() -> None:
    truth = {f"p{i}": "a b c d e f g h" for i in range(20)}
    pred = {f"p{i}": ("a b c d e f g h" if i % 2 else "a b c d x y z w") for i in range(20)}
    first, second = evaluate(truth, pred, bootstrap=50, seed=3), evaluate(truth, pred, bootstrap=50, seed=3)
    assert first.f1_err > 0 and first == second
    assert evaluate(truth, pred).f1_err == 0.0
