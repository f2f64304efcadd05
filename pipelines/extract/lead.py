"""The standfirst (lead, teaser paragraph) above an article, which trafilatura's precision pass drops.

A page's meta description is often its standfirst, shown between headline and text. It is put back at
the top of the text only when the page shows it right before the article's first paragraph: an element
in <body> holds exactly that text, and little text stands between it and the first line of the text.
"""
from __future__ import annotations

import re

from lxml.html import HtmlElement

_WORD = re.compile(r"\w+")
_MIN_LEAD_WORDS = 8
_LEAD_TAGS = ("p", "div", "h2", "h3", "span", "strong", "b", "em", "header", "section", "summary")
MAX_GAP_CHARS = 20


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _gap(body: HtmlElement, lead: HtmlElement, first_line: str) -> int | None:
    """Characters of text between the end of ``lead`` and the element that starts ``first_line``
    (None when that element is not found after it)."""
    inside = set(lead.iter())
    target = _words(first_line)[:30]
    gap = len((lead.tail or "").strip())
    started = False
    for node in body.iter():
        if node is lead:
            started = True
            continue
        if not started or node in inside or not isinstance(node.tag, str):
            continue
        own = _words(node.text or "")
        if len(own) >= 20 and target and (own.startswith(target) or target.startswith(own[:30])):
            return gap
        gap += len((node.text or "").strip()) + len((node.tail or "").strip())
        if gap > MAX_GAP_CHARS:
            return gap
    return None


def visible_lead(tree: HtmlElement, description: str | None, text: str) -> str | None:
    """The description as the page shows it, when it is missing from ``text`` and stands right before it."""
    if not description:
        return None
    wanted = _words(description)
    if len(wanted.split()) < _MIN_LEAD_WORDS or wanted in _words(text):
        return None
    body = tree.find(".//body")
    if body is None:
        return None
    for element in body.iter(*_LEAD_TAGS):
        shown = " ".join(element.text_content().split())
        if len(shown) < len(description) - 5 or len(shown) > 2 * len(description):
            continue
        if _words(shown) == wanted:
            gap = _gap(body, element, text.split("\n", 1)[0])
            return shown if gap is not None and gap <= MAX_GAP_CHARS else None
    return None
