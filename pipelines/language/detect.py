"""Language of an article: per-segment langdetect, title and declared language as evidence.

Pure functions, no Scrapy. The body is split into segments (paragraphs; short ones pooled so a
five-word foreign quote is never judged alone), a bounded sample of segments is run through langdetect,
and the result is combined with the title and the page's declared languages into record fields.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from pipelines.language.codes import normalize_code, parse_declared
from pipelines.language.profiles import SparseDetectorFactory
from pipelines.language.sample import pool_paragraphs, sample_segments

MIN_PARAGRAPH_CHARS = 60
CHAR_BUDGET = 1000
MIXED_SHARE = 0.10
MIN_TEXT_CHARS = 25
SEGMENT_CHARS = 200  # langdetect is as sure on 200 chars of a paragraph as on all of it
JOINT_CHARS = 150  # per segment when English-looking segments are confirmed together
MIN_TITLE_CHARS = 12
TITLE_MIN_PROB = 0.9
SEGMENT_MIN_PROB = 0.9
SEED = 0
N_TRIAL = 3  # langdetect default is 7; three seeded trials agree on clear text at less than half the cost
ITERATION_LIMIT = 200  # langdetect default 1,000; clear text converges in about 50

FLAG_NON_ENGLISH = "non_english"
FLAG_MIXED = "mixed_language"
FLAG_UNKNOWN = "language_unknown"

# Words of English that are not everyday words of the other languages we meet; one in a title means
# langdetect's verdict on that short string (often "tl", "da", "no" for English headlines) is noise.
ENGLISH_WORDS = frozenset(
    "the and of to that with from this these those which who what why how when your you their they "
    "its it's been were would could should than about after says said".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?", re.UNICODE)
_factory: SparseDetectorFactory | None = None
_factory_lock = threading.Lock()


@dataclass(frozen=True)
class LanguageResult:
    """Language fields of one record plus the evidence behind them."""

    language: str | None
    languages: dict[str, float]
    flags: list[str]
    title_language: str | None = None
    declared: tuple[str, ...] = field(default=())


def _get_factory() -> SparseDetectorFactory:
    """The profile-loaded factory, built once (loading takes ~0.4 s); profiles held sparsely (29 MB, not 60)."""
    global _factory
    with _factory_lock:
        if _factory is None:
            factory = SparseDetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(SEED)
            _factory = factory
        return _factory


def detect_probabilities(text: str) -> list[tuple[str, float]]:
    """Seeded langdetect probabilities of ``text``, best first; empty when langdetect gives up.

    A fresh Detector per call, seeded from the factory, so the answer never depends on earlier calls.
    """
    detector = _get_factory().create()
    detector.n_trial = N_TRIAL
    # Text langdetect cannot settle (names, tables) otherwise runs 1,000 updates per trial, ~25 ms.
    detector.ITERATION_LIMIT = ITERATION_LIMIT
    detector.append(text)
    try:
        found = detector.get_probabilities()
    except LangDetectException:
        return []
    merged: dict[str, float] = {}
    for item in found:
        code = normalize_code(item.lang)
        if code:
            merged[code] = merged.get(code, 0.0) + item.prob
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


def english_word_count(text: str) -> int:
    """How many words of ``text`` are common English function words."""
    return sum(1 for word in _WORD.findall(text.lower()) if word in ENGLISH_WORDS)


def _judge(text: str, declared: Sequence[str], limit: int = SEGMENT_CHARS) -> str | None:
    """Language of one segment, None when unsure; a declared language wins a near tie (nl against af)."""
    probs = detect_probabilities(text[:limit])
    if not probs:
        return None
    best, best_prob = probs[0]
    for code, prob in probs:
        if code in declared and prob >= 0.5 * best_prob:
            return code
    # Seeded trials that disagree (0.67 / 0.33) mean langdetect is guessing, typically on names.
    return best if best_prob >= SEGMENT_MIN_PROB else None


def _judge_english_like(segments: Sequence[str], declared: Sequence[str]) -> list[str]:
    """Verdicts for English-looking segments: one joint langdetect call, one per segment if it is unsure.

    These segments are English in all but odd cases, so confirming them together costs one call
    instead of several; a foreign one among them makes the joint call unsure and they are split.
    """
    if not segments:
        return []
    joint = "\n".join(segment[:JOINT_CHARS] for segment in segments)
    verdict = _judge(joint, declared, limit=len(joint))
    if verdict is not None:
        return [verdict] * len(segments)
    return [v for segment in segments if (v := _judge(segment, declared))]


def _title_language(title: str | None) -> str | None:
    """Language of a title when langdetect is sure and the title has no English function words."""
    if not title or len(title.strip()) < MIN_TITLE_CHARS or english_word_count(title):
        return None
    probs = detect_probabilities(title)
    if probs and probs[0][1] >= TITLE_MIN_PROB:
        return probs[0][0]
    return None


def body_shares(text: str, declared: Sequence[str] = (), *, min_paragraph_chars: int = MIN_PARAGRAPH_CHARS,
                char_budget: int = CHAR_BUDGET) -> dict[str, float]:
    """Share of body segments per language (unrounded); empty when nothing could be judged.

    Segments are weighed equally (each is a paragraph or a pool of short ones), which keeps a two-line
    localised widget visible next to a few long English paragraphs. Segments are split into two strata,
    English-looking (two or more English function words) and the rest; a few of the first are confirmed
    together, the rest get the remaining budget one by one, and each stratum's verdicts stand for all of
    its segments, sampled or not.
    """
    segments = pool_paragraphs(text, min_paragraph_chars)
    if sum(len(s) for s in segments) < MIN_TEXT_CHARS:
        return {}
    english_like = [english_word_count(s[:SEGMENT_CHARS]) >= 2 for s in segments]
    picked = sample_segments(segments, english_like, char_budget, SEGMENT_CHARS)
    shares: dict[str, float] = {}
    judged_total = 0
    for stratum in (True, False):
        members = [i for i, flag in enumerate(english_like) if flag is stratum]
        chosen = [segments[i] for i in picked if english_like[i] is stratum]
        if stratum:
            verdicts = _judge_english_like(chosen, declared)
        else:
            verdicts = [v for segment in chosen if (v := _judge(segment, declared))]
        if not verdicts:
            continue
        judged_total += len(members)
        for code in verdicts:
            shares[code] = shares.get(code, 0.0) + len(members) / len(verdicts)
    return {code: value / judged_total for code, value in shares.items()} if judged_total else {}


def _with_title(shares: dict[str, float], title_language: str, segments: int) -> dict[str, float]:
    """Count a foreign headline, confirmed by the declared language, as one more segment.

    Downstream readers get the title with the body: a Dutch headline over six English paragraphs
    is a Dutch-localised record ({"en": 0.86, "nl": 0.14}), not a purely English one.
    """
    total = segments + 1
    mixed = {code: share * segments / total for code, share in shares.items()}
    mixed[title_language] = mixed.get(title_language, 0.0) + 1 / total
    return mixed


def _main_language(shares: dict[str, float], declared: Sequence[str]) -> str | None:
    """Language with the largest share; a declared language within 80% of it wins the tie."""
    if not shares:
        return None
    best = max(sorted(shares), key=lambda code: shares[code])
    for code in declared:
        if code != best and shares.get(code, 0.0) >= 0.8 * shares[best]:
            return code
    return best


def detect_languages(text: str, title: str | None = None, declared: Sequence[str] = (), *,
                     min_paragraph_chars: int = MIN_PARAGRAPH_CHARS, char_budget: int = CHAR_BUDGET,
                     mixed_share: float = MIXED_SHARE) -> LanguageResult:
    """Main language, per-language shares and flags of an article body.

    ``non_english``: the body's main language is not English, or a non-English language is backed by
    two independent signals among declared language, title and body (a declared ``nl`` alone may be a
    site template; with a Dutch title or Dutch body lines it is a Dutch-localised page).
    ``mixed_language``: another language holds at least ``mixed_share`` of the body segments.
    ``language_unknown``: the body is too short or langdetect could not judge it.
    Deterministic: the same arguments always give the same result.
    """
    codes = parse_declared(declared)
    shares = body_shares(text or "", codes, min_paragraph_chars=min_paragraph_chars, char_budget=char_budget)
    language = _main_language(shares, codes)
    flags: list[str] = []
    title_language: str | None = None
    non_english = language is not None and language != "en"
    candidates = {c for c in codes if c != "en"} | {c for c in shares if c != "en"}
    if not non_english and candidates:
        # The title is only looked at when it could tip the verdict: langdetect is unreliable on
        # headlines, so a foreign-looking title needs a declared language or body lines to agree.
        title_language = _title_language(title)
        for code in sorted(candidates):
            votes = (code in codes) + (title_language == code) + (shares.get(code, 0.0) > 0)
            if votes >= 2:
                non_english = True
                break
    if non_english:
        flags.append(FLAG_NON_ENGLISH)
    if title_language and title_language != language and title_language in codes and shares:
        shares = _with_title(shares, title_language, len(pool_paragraphs(text, min_paragraph_chars)))
    if language is not None and any(c != language and s >= mixed_share for c, s in shares.items()):
        flags.append(FLAG_MIXED)
    if language is None:
        flags.append(FLAG_UNKNOWN)
    languages = {c: round(s, 2) for c, s in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))}
    return LanguageResult(language, {c: s for c, s in languages.items() if s > 0}, flags, title_language, codes)
