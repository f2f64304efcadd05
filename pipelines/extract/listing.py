"""Telling section fronts and listings from articles once their main text is known.

A listing's "main text" is either a run of teaser headlines (each the whole text of a link) or the
teasers' summaries (each sitting next to a linked h2-h4 headline). Both shares are measured over the
extracted lines; on the 181-page benchmark (all articles) the highest are 0.43 (a deals list) and
0.0, so the thresholds sit above them. A headline-plus-summary listing scores 0.5 or 1.0.
"""
from __future__ import annotations

from lxml.html import HtmlElement

MAX_LINK_LINE_SHARE = 0.45
MAX_TEASER_LINE_SHARE = 0.5
MIN_LINES = 4
MIN_LINK_CHARS = 15
MAX_TEASER_CHARS = 600
_HEADINGS = ("h2", "h3", "h4")


def _norm(text: str) -> str:
    return " ".join(text.split())


def link_line_share(tree: HtmlElement, lines: list[str]) -> float:
    """Share of ``lines`` that are the entire text of a link on the page."""
    anchors = {_norm(a.text_content()) for a in tree.iter("a")}
    return sum(1 for line in lines if len(line) >= MIN_LINK_CHARS and line in anchors) / max(1, len(lines))


def _has_linked_heading(element: HtmlElement) -> bool:
    """True when ``element`` holds an h2-h4 headline that is (or contains) a link."""
    for heading in element.iter(*_HEADINGS):
        if any(len(_norm(a.text_content())) >= MIN_LINK_CHARS for a in heading.iter("a")):
            return True
        parent = heading.getparent()
        if parent is not None and parent.tag == "a":
            return True
    return False


def teaser_line_share(tree: HtmlElement, lines: list[str], stop_at: float | None = None) -> float:
    """Share of ``lines`` found in a block (parent or grandparent) next to a linked headline.

    With ``stop_at``, the search ends as soon as the share is known to be below it or to reach it, and
    the share returned is only right on that side of ``stop_at`` (an article's body settles it halfway).
    """
    wanted, teasers, others = set(lines), 0, 0
    total = max(1, len(lines))
    shortest = min((len(line) for line in wanted), default=0)
    for element in tree.iter("p", "li", "span", "div"):
        if not wanted:
            break
        raw = element.text_content()
        if len(raw) < shortest:  # normalising only shortens a text
            continue
        text = _norm(raw)
        if text not in wanted:
            continue
        wanted.discard(text)
        parent = element.getparent()
        blocks = [parent, parent.getparent() if parent is not None else None]
        # a teaser block is small: one summary next to its headline, not an article body with inline links
        if any(b is not None and len(_norm(b.text_content())) <= MAX_TEASER_CHARS and _has_linked_heading(b)
               for b in blocks):
            teasers += 1
        else:
            others += 1
        if stop_at is not None and (teasers >= stop_at * total or total - others < stop_at * total):
            break
    return teasers / total


def is_listing(tree: HtmlElement, lines: list[str]) -> bool:
    """True when the extracted lines are headlines or teaser summaries: a section, tag or search page."""
    if len(lines) < MIN_LINES:
        return False
    return (link_line_share(tree, lines) >= MAX_LINK_LINE_SHARE
            or teaser_line_share(tree, lines, MAX_TEASER_LINE_SHARE) >= MAX_TEASER_LINE_SHARE)
