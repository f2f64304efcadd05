"""Last-resort publication date from a visible dateline ("PUBLISHED : Tuesday, 21 April, 2015").

Only used when JSON-LD, <meta>, <time> and htmldate found nothing. Only unambiguous forms are read
(month names or ISO dates; never 03/04/2024), only in short text blocks, and never in a line that
mentions copyright, so a footer's "© 2024" cannot become a publication date.
"""
from __future__ import annotations

import re

from lxml.html import HtmlElement

_MONTHS = {name: i for i, names in enumerate((
    "jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
    "sep sept september", "oct october", "nov november", "dec december"), start=1) for name in names.split()}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?,?\s+({_MONTH})\.?,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)\b", re.I)
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|all rights reserved", re.I)
MAX_DATELINE_CHARS = 80
_BLOCKS = ("time", "span", "p", "div", "li", "small", "em", "strong", "header", "abbr")


def parse_dateline(text: str) -> str | None:
    """YYYY-MM-DD from a short dateline text, or None when it holds no unambiguous date."""
    if _COPYRIGHT.search(text):
        return None
    if match := _DAY_MONTH_YEAR.search(text):
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
    elif match := _MONTH_DAY_YEAR.search(text):
        month, day, year = _MONTHS[match.group(1).lower()], int(match.group(2)), int(match.group(3))
    elif match := _ISO.search(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def visible_date(tree: HtmlElement) -> str | None:
    """The first dateline inside the article (or main, or the whole body when neither exists)."""
    scopes = tree.xpath("//article") or tree.xpath("//main") or tree.xpath("//body") or [tree]
    for element in scopes[0].iter(*_BLOCKS):
        raw = element.text_content()
        # the normalised text of a prefix is a prefix of the normalised text: a long one is told from its
        # opening, without normalising the article's whole text (8 MB on one line) for every block holding it
        if len(" ".join(raw[:MAX_DATELINE_CHARS + 1].split())) > MAX_DATELINE_CHARS:
            continue
        text = " ".join(raw.split())
        if text and len(text) <= MAX_DATELINE_CHARS and (date := parse_dateline(text)):
            return date
    return None
