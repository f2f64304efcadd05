"""Segmenting and sampling article text for language detection (pure, no langdetect)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence

_WORD = re.compile(r"[^\W\d_]+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_TOKEN = re.compile(r"\S+")
# No URL or e-mail address worth a word is longer; a token over this that could hold one is dropped whole,
# since _URL's "\S+@" part costs time quadratic in the length of the token it searches.
MAX_LINK_TOKEN_CHARS = 2000
# A line is judged by its opening: a paragraph of 20,000 characters (~3,000 words) has told its kind long
# before, and a one-line 8 MB page would otherwise cost a Python loop over every one of its words.
PROSE_JUDGE_CHARS = 20_000
PROSE_SHARE = 0.5  # English prose has ~80% lowercase words, German ~65%, name lists and headlines < 40%

# English-looking segments (two or more English function words) are nearly always English, so a few
# of them stand for all; the rest of the budget goes to the foreign-looking ones.
ENGLISH_SAMPLES = 3


def _strip_token(match: re.Match[str]) -> str:
    token = match.group()
    if "@" not in token and "://" not in token and "www." not in token:
        return token  # _URL cannot match in it
    return " " if len(token) > MAX_LINK_TOKEN_CHARS else _URL.sub(" ", token)


def strip_links(line: str) -> str:
    """``line`` with its URLs and e-mail addresses replaced by a space, in time linear in its length.

    _URL's matches never span whitespace, so it is applied token by token (the same result as over the whole
    line) and only to tokens that can hold a match, none of them longer than ``MAX_LINK_TOKEN_CHARS``.
    """
    if "@" not in line and "://" not in line and "www." not in line:
        return line
    return _TOKEN.sub(_strip_token, line)


def is_prose(line: str) -> bool:
    """Whether a line reads as running text rather than names, scores, dates or links.

    Language evidence lives in lowercase words; scripts without case (CJK, Arabic, Thai) count as such.
    """
    words = _WORD.findall(strip_links(line[:PROSE_JUDGE_CHARS]))
    lower = sum(1 for word in words if not word[0].isupper())
    return bool(words) and lower >= PROSE_SHARE * len(words)


def pool_paragraphs(text: str, min_chars: int) -> list[str]:
    """Prose paragraphs of ``text`` (one per line) with those under ``min_chars`` pooled.

    Lines that are not prose (box scores, bylines, timestamps, title-case link lists) carry no language
    evidence and are left out; when nothing else is left the whole text is one segment. Consecutive short
    paragraphs are joined until the pool is long enough to be judged; a short pool followed by a long
    paragraph joins that paragraph, and a trailing one joins the last segment, so a one-line foreign
    quote is judged with its context.
    """
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    prose = [line for line in lines if is_prose(line)]
    if not prose:
        return [" ".join(lines)] if lines else []
    segments: list[str] = []
    pool: list[str] = []
    for line in prose:
        pool.append(line)
        joined = " ".join(pool)
        if len(line) >= min_chars or len(joined) >= min_chars:
            segments.append(joined)
            pool = []
    if pool:
        if segments:
            segments[-1] = segments[-1] + " " + " ".join(pool)
        else:
            segments.append(" ".join(pool))
    return segments


def spread_order(count: int) -> list[int]:
    """Indices 0..count-1 ordered so that every prefix is spread over the whole range."""
    order: list[int] = []
    queue: deque[tuple[int, int]] = deque([(0, count)])
    while queue:
        low, high = queue.popleft()
        if low >= high:
            continue
        middle = (low + high) // 2
        order.append(middle)
        queue.append((low, middle))
        queue.append((middle + 1, high))
    return order


def sample_segments(segments: Sequence[str], english_like: Sequence[bool], budget: int,
                    segment_chars: int) -> list[int]:
    """Indices of the segments to judge, ``budget // segment_chars`` of them (at least one).

    Only the first ``segment_chars`` characters of a segment are judged, and each judgement costs about
    as much as that many characters even for a short segment (langdetect's trials dominate), so every
    pick is charged ``segment_chars``. English-looking segments (at most ``ENGLISH_SAMPLES``) come first,
    then the foreign-looking ones, where a second language hides; each group in spread order.
    """
    english = [i for i, flag in enumerate(english_like) if flag]
    foreign = [i for i, flag in enumerate(english_like) if not flag]
    english_order = [english[k] for k in spread_order(len(english))]
    foreign_order = [foreign[k] for k in spread_order(len(foreign))]
    order = english_order[:ENGLISH_SAMPLES] + foreign_order
    return sorted(order[:max(1, budget // max(1, segment_chars))])
