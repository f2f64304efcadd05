"""The byline a page shows above (or below) its text: "By Jane Roe", "Par Claire Dubois", "di Mario Rossi",
"Posted on March 3, 2024 by <a>Sam Whitaker</a>".

trafilatura's author search reads bylines by their class names; a theme that marks its byline with none
("<p>Par Claire Dubois</p>", a WordPress "Posted on … by" line) is missed, and the byline then stays as
the first line of the text. This module finds such a line by its words alone and strictly: a short
element that starts with a byline word followed only by capitalised names (and maybe a date), so a
sentence ("Par ailleurs, …", "Von Montag an …") is never read as one. The same test tells which of the
text's first lines is the byline, to drop it once its names are the article's authors.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from lxml.html import HtmlElement

from pipelines.extract.authors import PARTICLES, clean_authors

# an element whose own text starts like a byline: a candidate worth reading whole
_OPENER = re.compile(r"^\s{0,20}(?:posted|published|written|by|von|par|di|door|por|av|af|przez|autor(?:in)?|author"
                     r"|auteur|geschrieben|verfasst|publié|pubblicato|publicado|geplaatst|veröffentlicht)\b", re.I)
# the whole line: an optional "Posted on <date>" lead, the byline word, then the names (bounded: short lines only)
_LINE = re.compile(r"^(?:(?:posted|published|written|publié|pubblicato|publicado|geplaatst|veröffentlicht|geschrieben"
                   r"|verfasst)\b[^|•·]{0,60}?\s)?(?P<word>by|von|par|di|door|por|av|af|przez|autor(?:in)?(?:\s?/\s?autor(?:in)?)?"
                   r"|author|auteur)\s*:?\s+(?P<names>.{2,100})$", re.I)
# where the names end: a separator, a figure (a date or time), a parenthesis or an "on <date>"
_NAMES_END = re.compile(r"\s*(?:[|•·(\[]|\s[–—-]\s|\d|\s(?:on|am|le|il|el|op|em|den|le|updated|published"
                        r"|aktualisiert|mis à jour)\s).*$", re.I | re.S)
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\s(?:and|und|et|e|y|en|og|i|och|oraz)\s)\s*", re.I)
# a byline word that is also an everyday word ("par", "di", "por", "von"...): the name after it needs two words
_AMBIGUOUS = {"von", "par", "di", "door", "por", "av", "af", "przez"}
MAX_LINE_CHARS = 120
# between the names of a byline without a byline word ("Mathatisi Sebusi/Mohalenyane Phakela")
_NAME_SPLIT = re.compile(r"\s*/\s*|\s+&\s+")
MAX_CANDIDATES = 40
_TAGS = ("p", "div", "span", "address", "li", "header", "small", "em", "strong", "b", "i", "h4", "h5", "h6", "section",
         "footer", "figcaption", "td", "dd", "font")


def _name_ok(name: str, single: bool) -> bool:
    """A name: one to five words (two at least when ``single`` is False), each capitalised or a particle."""
    words = name.split()
    if not words or len(words) > 5 or (len(words) < 2 and not single):
        return False
    if not words[0][:1].isupper():
        return False
    return all((w[:1].isupper() and not any(ch.isdigit() for ch in w)) or w in PARTICLES for w in words)


def byline_names(line: str) -> list[str]:
    """The names a byline line gives ("Par Claire Dubois" → ["Claire Dubois"]); [] when ``line`` is not
    only a byline (a sentence, a caption, a menu)."""
    line = " ".join(line.split())
    if len(line) > MAX_LINE_CHARS or not (match := _LINE.match(line)):
        return []
    names_part = _NAMES_END.sub("", match.group("names")).strip(" ,;:")
    names = [n.strip(" .") for n in _SEPARATORS.split(names_part) if n.strip(" .")]
    single = match.group("word").lower() not in _AMBIGUOUS
    if not names or not all(_name_ok(name, single) for name in names):
        return []
    return names


def _short_text(element: HtmlElement) -> str | None:
    """The element's text, whitespace collapsed, when it is short enough for a byline line (else None,
    before any work on a long text)."""
    raw = element.text_content()
    if len(raw) > 4 * MAX_LINE_CHARS:
        return None
    text = " ".join(raw.split())
    return text if len(text) <= MAX_LINE_CHARS else None


def _candidates(scope: HtmlElement) -> Iterable[str]:
    """Texts of the short elements of ``scope`` whose own text opens like a byline (or the parent's text,
    when the element holds the byline word alone: "<span>By</span> <a>Jane Roe</a>")."""
    found = 0
    for element in scope.iter(*_TAGS):
        if not _OPENER.match((element.text or "")[:40]):
            continue
        found += 1
        if found > MAX_CANDIDATES:
            return
        text = _short_text(element)
        if text is not None and len(text.split()) == 1 and (parent := element.getparent()) is not None:
            text = _short_text(parent)
        if text is not None:
            yield text


def visible_byline(tree: HtmlElement) -> list[str]:
    """The names of the first byline line shown in the article (else the page's body), or []."""
    scope = next(iter(tree.xpath("//article") or tree.xpath("//main") or tree.xpath("//body")), tree)
    for text in _candidates(scope):
        if names := byline_names(text):
            return names
    return []


def _bold_line(tree: HtmlElement, line: str) -> bool:
    """Whether ``line`` is shown as a paragraph of bold text alone ("<p><strong>Jane Roe</strong></p>")."""
    for element in tree.iter("strong", "b"):
        parent = element.getparent()
        if parent is not None and parent.tag in ("p", "div") and _short_text(element) == line == _short_text(parent):
            return True
    return False


def name_line(tree: HtmlElement, text: str) -> list[str]:
    """The names of a byline without a byline word: the text's first line, a paragraph of one to three
    full names in bold and nothing else ("Mohloai Mpesi", "Mathatisi Sebusi/Mohalenyane Phakela")."""
    line = " ".join(text.split("\n", 1)[0].split())
    if not line or len(line) > 80:
        return []
    names = [n.strip() for n in _NAME_SPLIT.split(line) if n.strip()]
    if len(names) > 3 or not all(_name_ok(name, False) and len(name.split()) <= 3 for name in names):
        return []
    return names if _bold_line(tree, line) else []


def _norm(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


MAX_HEAD_LINES = 3


def drop_byline_lines(text: str, authors: list[str]) -> str:
    """``text`` without the byline line standing above it (among its first three lines) whose names, once
    cleaned, are all among ``authors``: the byline was read as the authors, it is not a paragraph of the
    article ("By Jane Roe, Staff Writer" names Jane Roe)."""
    if not authors:
        return text
    wanted = {_norm(a) for a in authors}
    lines = text.split("\n")
    for i, line in enumerate(lines[:MAX_HEAD_LINES]):
        if len(line) > MAX_LINE_CHARS:
            continue  # a paragraph, not a byline (and no long line goes through the name rules)
        # the first line may be the names alone ("Mohloai Mpesi", as name_line reads it)
        raw = byline_names(line) or (_NAME_SPLIT.split(line) if i == 0 else [])
        names = clean_authors(raw)
        if names and {_norm(n) for n in names} <= wanted:
            return "\n".join(lines[:i] + lines[i + 1:])
    return text
