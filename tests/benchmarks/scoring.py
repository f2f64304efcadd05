"""Scorer for the article-extraction benchmark, as described in ../shared/bench/README.md.

Tokens are ``\\w+`` matches; each text is a multiset of overlapping 4-token shingles.
Per page tp/fp/fn are normalised by their sum so every page weighs the same; precision and
recall are means over pages, F1 is the harmonic mean of those two means.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN_RE = re.compile(r"\w+")
NGRAM = 4


def tokenize(text: str | None) -> list[str]:
    """Return the ``\\w+`` tokens of ``text`` (Unicode, case kept)."""
    return TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Multiset of overlapping ``n``-token shingles; a text under ``n`` tokens is one shingle."""
    tokens = tokenize(text)
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class PageScore:
    """Normalised counts for one page plus the flags the aggregate needs."""

    tp: float
    fp: float
    fn: float
    has_pred: bool
    has_truth: bool
    exact: bool

    @property
    def precision(self) -> float:
        """tp/(tp+fp); 1 when nothing is wrong or missing."""
        if self.fp == 0 and self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """tp/(tp+fn); 1 when nothing is wrong or missing."""
        if self.fp == 0 and self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def score_page(truth: str | None, pred: str | None) -> PageScore:
    """Shingle-match one prediction against its ground truth."""
    t, p = shingles(truth), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageScore(tp, fp, fn, bool(p), bool(t), tokenize(truth) == tokenize(pred))


@dataclass(frozen=True)
class Metrics:
    """Aggregate figures over a set of pages (``*_err`` are bootstrap standard deviations)."""

    f1: float
    precision: float
    recall: float
    accuracy: float
    n: int
    f1_err: float = 0.0
    precision_err: float = 0.0
    recall_err: float = 0.0
    accuracy_err: float = 0.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def aggregate(pages: list[PageScore]) -> tuple[float, float, float, float]:
    """Return (f1, precision, recall, accuracy) for already scored pages."""
    precision = _mean([p.precision for p in pages if p.has_pred])
    recall = _mean([p.recall for p in pages if p.has_truth])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = _mean([1.0 if p.exact else 0.0 for p in pages])
    return f1, precision, recall, accuracy


def _std(values: list[float]) -> float:
    m = _mean(values)
    return (sum((v - m) ** 2 for v in values) / len(values)) ** 0.5 if values else 0.0


def evaluate(truth: Mapping[str, str | None], pred: Mapping[str, str | None],
             bootstrap: int = 0, seed: int = 0) -> Metrics:
    """Score predictions ``{id: text}`` against ``{id: text}`` truth; missing predictions count as empty.

    ``bootstrap`` > 0 resamples pages that many times to estimate the ± of each figure.
    """
    pages = [score_page(truth[k], pred.get(k)) for k in sorted(truth)]
    f1, precision, recall, accuracy = aggregate(pages)
    errs = [0.0, 0.0, 0.0, 0.0]
    if bootstrap and pages:
        rng = random.Random(seed)
        samples = [aggregate(rng.choices(pages, k=len(pages))) for _ in range(bootstrap)]
        errs = [_std([s[i] for s in samples]) for i in range(4)]
    return Metrics(f1, precision, recall, accuracy, len(pages), *errs)


def format_metrics(name: str, m: Metrics) -> str:
    """One human-readable line for a report."""
    return (f"{name:<28} F1 {m.f1:.4f}±{m.f1_err:.3f}  P {m.precision:.4f}±{m.precision_err:.3f}  "
            f"R {m.recall:.4f}±{m.recall_err:.3f}  acc {m.accuracy:.3f}±{m.accuracy_err:.3f}  (n={m.n})")


