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
_TEXT_BLOCKS = frozenset(("p", "li", "span", "div"))


def _norm(text: str) -> str:
    return " ".join(text.split())


def link_line_share(tree: HtmlElement, lines: list[str]) -> float:
    """Share of ``lines`` that are the entire text of a link on the page."""
    anchors = {_norm(a.text_content()) for a in tree.iter("a")}
    return sum(1 for line in lines if len(line) >= MIN_LINK_CHARS and line in anchors) / max(1, len(lines))


def _is_linked_heading(heading: HtmlElement) -> bool:
    """True when an h2-h4 headline is (or contains) a link."""
    if any(len(_norm(a.text_content())) >= MIN_LINK_CHARS for a in heading.iter("a")):
        return True
    parent = heading.getparent()
    return parent is not None and parent.tag == "a"


def teaser_blocks(tree: HtmlElement) -> set[HtmlElement]:
    """Small blocks (at most MAX_TEASER_CHARS of text) holding a linked h2-h4 headline: teaser cards.

    Found from the headlines up: a block's text only grows towards the root, so the climb stops at the
    first ancestor over the limit. An article page has few linked headlines, so this is cheap.
    """
    blocks: set[HtmlElement] = set()
    for heading in tree.iter(*_HEADINGS):
        if not _is_linked_heading(heading):
            continue
        element: HtmlElement | None = heading
        while element is not None and element not in blocks:
            if len(_norm(element.text_content())) > MAX_TEASER_CHARS:
                break
            blocks.add(element)
            element = element.getparent()
    return blocks


def teaser_line_share(tree: HtmlElement, lines: list[str]) -> float:
    """Share of ``lines`` that are the text of a p, li, span or div whose parent or grandparent is a teaser
    block (a summary next to its linked headline); a teaser's summary is small, an article body is not."""
    wanted = set(lines)
    found: set[str] = set()
    for block in teaser_blocks(tree):
        for child in block:
            for element in (child, *child):
                if element.tag in _TEXT_BLOCKS and (text := _norm(element.text_content())) in wanted:
                    found.add(text)
    return len(found) / max(1, len(lines))


def is_listing(tree: HtmlElement, lines: list[str]) -> bool:
    """True when the extracted lines are headlines or teaser summaries: a section, tag or search page."""
    if len(lines) < MIN_LINES:
        return False
    return (link_line_share(tree, lines) >= MAX_LINK_LINE_SHARE
            or teaser_line_share(tree, lines) >= MAX_TEASER_LINE_SHARE)
