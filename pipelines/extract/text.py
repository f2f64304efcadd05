"""Main-text selection on top of trafilatura: two passes, a per-page choice, boilerplate trimming.

Each step is a general rule measured on the article-extraction benchmark (see tests.benchmarks/quality.py);
none knows about particular sites.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

import trafilatura
from lxml.html import HtmlElement

from pipelines.extract.comments import cut_comments
from pipelines.extract.fallback import container_chars, gated, structurally_sound
from pipelines.extract.pagemeta import DATE_PARAMS
from pipelines.extract.sections import merge_sections

# the precision pass is preferred unless it lost this share of the balanced pass's text
PRECISION_MIN_SHARE = 0.5
SHORT_TEXT_CHARS = 1000
# readability's text replaces the own one when it is twice as long: an own text under half of the text of
# the element holding its paragraphs (headings and lists dropped, say) gets the comparison
OWN_MIN_CONTAINER_SHARE = 0.5
MIN_PARAGRAPH_CHARS = 40  # shorter <p> are bylines, captions and buttons, not article text
_WORD = re.compile(r"\w+")


def run_trafilatura(tree: HtmlElement, url: str | None, *, precision: bool = False,
                    with_metadata: bool = False, paragraphs: Paragraphs | None = None) -> Any:
    """One trafilatura pass over ``tree`` (not modified) without comments; a Document or None.

    trafilatura's fallback comparison (readability, jusText) runs only when the own text could lose it
    (``needs_comparison``); elsewhere it would keep the own text anyway, and skipping it saves about a
    third of the pass. ``paragraphs``: the page's, when already read.
    """
    with gated(comparison_gate(tree, paragraphs)):
        return trafilatura.bare_extraction(
            tree, url=url, include_comments=False, favor_precision=precision, with_metadata=with_metadata,
            date_extraction_params=dict(DATE_PARAMS), include_tables=True,
        )


def comparison_gate(tree: HtmlElement, paragraphs: Paragraphs | None = None) -> Callable[[Any, str], bool]:
    """The gate for passes over ``tree``: whether an own extraction (body, text) needs the comparison.

    It does when the text is short, structurally unsound (``fallback.structurally_sound``), holds under
    half of the page's paragraph words, or under half of the text of the element holding its paragraphs
    (readability, which returns such an element, wins when it is twice as long).
    """
    read = [] if paragraphs is None else [paragraphs]  # read on first use

    def needs_comparison(body: Any, own: str) -> bool:
        if len(own) < SHORT_TEXT_CHARS or not structurally_sound(body):
            return True
        if not read:
            read.append(Paragraphs(tree))
        return (_unique_words(own) < PRECISION_MIN_SHARE * read[0].words
                or len(own) < OWN_MIN_CONTAINER_SHARE * container_chars(read[0].items, body))

    return needs_comparison


def _unique_words(text: str) -> int:
    """Word count over distinct lines: a fallback dump repeats its headline and metadata lines.

    One page asks this of the same text up to five times (the gate of each pass, ``trusted``,
    ``choose_text``): the last answer is kept, so a huge text is counted once.
    """
    if _LAST_COUNT and _LAST_COUNT[0] == text:
        return _LAST_COUNT[1]
    count = _count_unique_words(text)
    _LAST_COUNT[:] = [text, count]
    return count


# (text, count) of the last _unique_words call (texts of different lengths compare in no time, equal ones
# in one memcmp); it holds one text until the next call, in the worker that extracted it
_LAST_COUNT: list[Any] = []


def _count_unique_words(text: str) -> int:
    seen: set[str] = set()
    count = 0
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line and line not in seen:
            seen.add(line)
            count += len(_WORD.findall(line))
    return count


class Paragraphs:
    """The page's <p> elements with their whitespace-normalised texts, read once and shared by the steps
    that look at paragraphs (the comparison gate, the balanced-pass check, the section merge)."""

    def __init__(self, tree: HtmlElement) -> None:
        self.items = [(para, " ".join(para.text_content().split())) for para in tree.iter("p")]

    @cached_property
    def words(self) -> int:
        """Words in the page's distinct paragraphs (<p> of at least MIN_PARAGRAPH_CHARS): what an article
        extraction can at most hold, give or take text outside <p>."""
        seen: set[str] = set()
        count = 0
        for _, text in self.items:
            if len(text) >= MIN_PARAGRAPH_CHARS and text not in seen:
                seen.add(text)
                count += len(_WORD.findall(text))
        return count


def choose_text(balanced: str, precise: str) -> str:
    """Prefer the precision pass unless it lost most of the balanced pass's distinct words."""
    if precise and _unique_words(precise) >= PRECISION_MIN_SHARE * _unique_words(balanced):
        return precise
    return balanced


def _doc_text(doc: Any) -> str:
    """A trafilatura Document's text, or "" when it found none."""
    return doc.text if doc is not None and doc.text else ""


def trusted(paragraphs: Paragraphs, precise: str) -> bool:
    """Whether a precision text can stand without the balanced pass's second opinion.

    The balanced text wins ``choose_text`` only with twice the precision text's words; when the precision
    text already holds half of the page's paragraph words, the
    balanced one cannot double it (bar text outside <p>), so that pass is skipped (on 171 of 181 benchmark
    pages, changing no choice). A short text is always checked: it may be a fragment of text that is not
    in <p>, which the paragraph count cannot tell.
    """
    return len(precise) >= SHORT_TEXT_CHARS and _unique_words(precise) >= PRECISION_MIN_SHARE * paragraphs.words


def best_text(tree: HtmlElement, url: str | None, paragraphs: Paragraphs | None = None) -> str | None:
    """The better of the precision and balanced passes' texts; None when trafilatura finds no text.

    ``paragraphs``: the page's, when already read.
    """
    paragraphs = paragraphs or Paragraphs(tree)
    precise = _doc_text(run_trafilatura(tree, url, precision=True, paragraphs=paragraphs))
    if trusted(paragraphs, precise):
        return precise
    balanced_doc = run_trafilatura(tree, url, paragraphs=paragraphs)
    if balanced_doc is None:
        return None
    return choose_text(balanced_doc.text or "", precise)


def main_text(tree: HtmlElement, url: str | None, text: str, headings: list[str | None],
              paragraphs: Paragraphs | None = None) -> str:
    """The article text from the chosen pass's ``text``: split sections merged, trimmed."""

    def precise(page: HtmlElement) -> str:
        doc = run_trafilatura(page, url, precision=True)
        return doc.text if doc is not None and doc.text else ""

    items = (paragraphs or Paragraphs(tree)).items
    return clean_text(merge_sections(tree, text, precise, items) or text, headings)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, for comparing lines regardless of punctuation."""
    return [t.lower() for t in _WORD.findall(text)]


def split_lines(text: str) -> list[str]:
    """Non-empty, whitespace-normalised lines of an extracted text."""
    return [" ".join(line.split()) for line in text.split("\n") if _WORD.search(line)]


# in-body teasers: "Related: <headline>", "READ MORE: ...", "DON'T MISS", "<headline> [VIDEO]"
_TEASER = re.compile(r"^(?:related(?: \w+)?|read more|see more|see also|also read|read also|more|don'?t miss|"
                     r"recommended(?: \w+)?|most read(?: in [\w ]+)?|also on \S+|les også|læs også|läs också|lees ook"
                     r"|lesen sie auch|lies auch|mehr zum thema|auch interessant|à lire aussi|lire aussi|leia também"
                     r"|lee también|leggi anche|czytaj (?:też|także|również))\s*(?:[:|]|$)", re.I)
# case matters here: an upper-case bracket tag closing a headline-length line marks a teaser link
# ("<headline> [VIDEO]"), i.e. a line matching r"\w.{20,}\[[A-Z ]{3,}\]\s*\|?$". That search is quadratic in
# the line's length (every start tries every end), so ``_is_teaser_tag`` checks it in two linear steps: the tag
# can only open at the line's last "[" (neither "[" nor "]" may follow it), and a word character must come at
# least 21 characters before it.
_TAG_END = re.compile(r"\[[A-Z ]{3,}\]\s*\|?")
_TAG_LEAD_CHARS = 21
# trailing furniture: sign-up boxes, share/follow prompts, copyright, tag lists, credits, contact lines
_TAIL = re.compile(
    r"\b(?:subscrib\w*|newsletters?|sign up|inbox|all rights reserved|copyright|click here|share (?:this|it)"
    r"|you may also like|related (?:articles|stories|posts|content)|follow (?:us|@|\w+ on)|on (?:twitter|facebook"
    r"|instagram)|contributed (?:reporting|to this report)|may be reached at|tell us what you think"
    r"|if you enjoyed this|leave a (?:reply|comment)|discover more|more from|ontdek meer|abonneer|nieuwsbrief"
    r"|abonnieren|abonnez|suscr[ií]b\w*)\b|©"
    r"|^(?:\(?reporting by|additional reporting|editing by|comments?|\d+ comments?|tags?|filed under"
    r"|categor(?:y|ies)|sources?|listen|download|itunes|updated|e-?mail \w+)\b"
    r"|^\S+@\S+$|^(?:https?://|www\.|twitter\.com/)\S*$", re.I)
_MAX_TAIL_LINES = 8
_MAX_HEAD_LINES = 3
# strong footer markers: what follows them near the end is legal or sign-up furniture too
_FOOTER = re.compile(r"©|\bcopyright\b|\ball rights reserved\b|^(?:subscribe|sign up|abonneer|abonnieren|abonnez"
                     r"|suscr[ií]bete|inscreva-se|iscriviti)\b", re.I)
_FOOTER_WINDOW = 5
# Furniture (a teaser, a footer, a sign-up or share line) is a short line. The patterns above are linear but
# try dozens of alternatives at every character: on a one-paragraph 8 MB page each search cost seconds, for
# a line that can only be text. Longer lines are not tested.
_MAX_FURNITURE_CHARS = 2000
_FOOTER_MAX_SHARE = 0.5
_READING_TIME = re.compile(r"^(?:reading time|tempo de leitura|tiempo de lectura|temps de lecture|leestijd|lesezeit)\b"
                           r"|^\d+\s*min(?:ute)?s?\s+read$", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_DATE_HINT = re.compile(
    r"(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{1,2}:\d{2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
    r"|janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro|enero|febrero"
    r"|marzo|mayo|junio|julio|septiembre|octubre|noviembre|diciembre|januari|februari|maart|mei|juni|juli"
    r"|augustus|oktober|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|januar|februar|märz|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre)\w*\b", re.I)
_CLICK_TO_TWEET = re.compile(r"\s*Click To Tweet$", re.I)


def _is_teaser_tag(line: str) -> bool:
    """Whether ``line`` (no line break) is a headline closed by an upper-case bracket tag ("... [VIDEO]"),
    in time linear in its length (see ``_TAG_END``)."""
    start = line.rfind("[")
    if start < _TAG_LEAD_CHARS or not _TAG_END.fullmatch(line, start):
        return False
    return _WORD.search(line, 0, start - _TAG_LEAD_CHARS + 1) is not None


def _is_heading(line: str, headings: list[str]) -> bool:
    """True when ``line`` repeats a headline (give or take a site suffix).

    The meta description is deliberately not used: it is usually the lead paragraph itself."""
    lt = " ".join(tokens(line))
    if not lt:
        return False
    for heading in headings:
        ht = " ".join(tokens(heading))
        if not ht:
            continue
        n = len(lt.split())
        if (lt == ht or (n >= 3 and lt in ht) or (n >= 2 and ht.startswith(lt + " "))
                or (ht in lt and len(lt) <= len(ht) + 30)):
            return True
    return False


def _is_dateline(line: str) -> bool:
    """A short line carrying only a date/time, byline or reading time ("November 20, 2019 - 11:28")."""
    if _READING_TIME.search(line):
        return True
    return len(tokens(line)) <= 20 and bool(_YEAR.search(line)) and bool(_DATE_HINT.search(line)) \
        and not line.rstrip().endswith(".")


def _is_furniture(line: str, pattern: re.Pattern[str]) -> bool:
    """Whether a line short enough to be furniture matches ``pattern``."""
    return len(line) <= _MAX_FURNITURE_CHARS and pattern.search(line) is not None


def _ends_with_tweet(line: str) -> bool:
    """Whether ``line`` ends with "Click To Tweet" (any case): looked at before the regex, which tries every
    whitespace run of a long line."""
    return line[-40:].rstrip().lower().endswith("click to tweet")


def _cut_footer(lines: list[str]) -> list[str]:
    """Cut at a copyright/sign-up line among the last few, with whatever disclaimers follow it."""
    words = sum(len(line.split()) for line in lines)
    for i in range(max(1, len(lines) - _FOOTER_WINDOW), len(lines)):
        if len(lines[i]) <= _MAX_FURNITURE_CHARS and _FOOTER.search(lines[i]) and sum(len(line.split()) for line in lines[i:]) <= _FOOTER_MAX_SHARE * words:
            return lines[:i]
    return lines


def clean_text(text: str, headings: list[str | None] | None = None) -> str:
    """Trim a chosen text: blank lines, a repeated headline or dateline at the top, teasers anywhere,
    boilerplate at the end. ``headings``: the page's title candidates (title, og:title, h1...)."""
    titles = [h for h in headings or [] if h]
    lines = [_CLICK_TO_TWEET.sub("", line) if _ends_with_tweet(line) else line for line in split_lines(text)]
    head = 0
    while lines and head < _MAX_HEAD_LINES and (_is_heading(lines[0], titles) or _is_dateline(lines[0])):
        lines.pop(0)
        head += 1
    lines = [line for line in lines if not (_is_furniture(line, _TEASER) or _is_teaser_tag(line))]
    lines = cut_comments(_cut_footer(lines))
    dropped = 0
    while len(lines) > 1 and dropped < _MAX_TAIL_LINES and _is_furniture(lines[-1], _TAIL):
        lines.pop()
        dropped += 1
    return "\n".join(lines)
