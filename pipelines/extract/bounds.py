"""Bounds on what one page may cost: parse deep pages without losing their text, refuse what cannot be
parsed whole or has more paragraphs or elements than trafilatura handles in time, and flatten the inline-tag floods that make lxml's XPath superlinear.

libxml2 stops at 256 levels of nesting (2,048 with ``huge_tree``) and silently drops what lies deeper, so a
page nested deeper than that would be judged on its shallow part ("not an article"). Pages are parsed with
``huge_tree``; one that still reaches the parser's limit, or is deeper than ``MAX_DEPTH`` (deeper trees make
trafilatura's recursive steps slow), is refused with :class:`PageRefused` ``too_deep``, which the extraction
stage counts as an error.

trafilatura strips inline tags (``span``, ``b``, ``a``...) and libxml2 leaves the text they held as adjacent
text nodes; its XPath ``text()`` then costs time roughly cubic in their number (6,000 of them: 2 s, 24,000:
100 s). An element with more than ``MAX_INLINE_CHILDREN`` inline children (no normal paragraph has a hundred
links or bold words) is flattened first: its inline descendants stripped and its text made one node, which
trafilatura would have done anyway as far as the text goes.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction

MAX_DEPTH = 1000
"""Deeper pages are refused (``too_deep``); libxml2 with ``huge_tree`` stops at 2,048 levels."""
PARSER_DEPTH_LIMIT = 2048
"""libxml2's nesting limit with ``huge_tree``: a tree this deep lost what was below it."""
MAX_PARAGRAPHS = 20_000
"""Pages with more <p> are refused (``too_many_paragraphs``): trafilatura's main loop is quadratic in them
(13k: 3 s, 53k: 17 s), and no article has a tenth as many."""
MAX_ELEMENTS = 50_000
"""Pages with more elements are refused (``too_many_elements``): trafilatura's passes cost ~0.2 ms per
element (a 50,000-element link farm: 9 s), and the 181 benchmark pages have at most 1,600."""
MAX_PARSED_ELEMENTS = 250_000
"""Pages with more elements are refused (``too_many_elements``) before their tree is built: a tree costs
~550 bytes an element (540,000 inline tags: 350 MB in the worker), more than flattening could save."""
MAX_INLINE_CHILDREN = 200
"""An element with more inline children than this is flattened (``flatten_inline_floods``)."""
# tags trafilatura strips or renames to formatting it then strips, when text is all it keeps
INLINE_TAGS = frozenset({"a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
                         "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
                         "sub", "sup", "time", "tt", "u", "var"})

# trafilatura's parser (trafilatura.utils.HTML_PARSER) with huge_tree: no 256-level cut, no 10 MB text-node cut
HUGE_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                         remove_pis=True, huge_tree=True)
# Every element proxy lxml.html makes asks a Python lookup for its class (~1 µs each, ~8,000 a page: ~7 % of
# extraction's CPU). Extraction uses no form, input or label API, so plain HtmlElement for every element, looked up
# in C, does the same for it.
HUGE_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))


class PageRefused(Exception):
    """A page extraction will not process, with the error label the extraction stage counts it under."""

    def __init__(self, label: str, detail: str = "") -> None:
        super().__init__(label, detail)
        self.label = label
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.label}: {self.detail}" if self.detail else self.label


@contextmanager
def huge_tree_parsing() -> Iterator[None]:
    """Make ``trafilatura.utils.load_html`` parse with ``HUGE_PARSER`` (its repairs and checks stay its own)."""
    import trafilatura.utils as tu

    saved, tu.HTML_PARSER = tu.HTML_PARSER, HUGE_PARSER
    try:
        yield
    finally:
        tu.HTML_PARSER = saved


def deeper_than(tree: HtmlElement, levels: int) -> bool:
    """Whether an element of ``tree`` lies more than ``levels`` levels below it (in libxml2: time linear in
    the number of elements times their depth, which the parser bounds)."""
    return bool(tree.xpath(f"boolean(.//*[ancestor::*[{levels}]])"))


def check_depth(tree: HtmlElement, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`PageRefused` ``too_deep`` when ``tree`` is nested deeper than ``limit`` levels (the
    parser's own cut lies deeper still)."""
    if deeper_than(tree, min(limit, PARSER_DEPTH_LIMIT - 1)):
        raise PageRefused("too_deep", f"nested more than {limit} levels deep")


def check_size(tree: HtmlElement, paragraphs: int = MAX_PARAGRAPHS, elements: int = MAX_ELEMENTS) -> None:
    """Raise :class:`PageRefused` ``too_many_paragraphs`` when ``tree`` has more than ``paragraphs`` <p>,
    ``too_many_elements`` when it has more than ``elements`` elements."""
    count = int(tree.xpath("count(.//p)"))
    if count > paragraphs:
        raise PageRefused("too_many_paragraphs", f"{count:,} paragraphs (at most {paragraphs:,})")
    count = int(tree.xpath("count(.//*)"))
    if count > elements:
        raise PageRefused("too_many_elements", f"{count:,} elements (at most {elements:,})")


class _StartTags:
    """An lxml parser target that only counts start tags: no tree, ~1 µs an element."""

    def __init__(self) -> None:
        self.count = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        """One more element."""
        self.count += 1

    def close(self) -> int:
        """The number of elements."""
        return self.count


def check_element_count(text: str, limit: int = MAX_PARSED_ELEMENTS) -> None:
    """Raise :class:`PageRefused` ``too_many_elements`` when the HTML ``text`` holds more than ``limit``
    elements, counted by libxml2 without building a tree (and only when it has more than ``limit`` "<")."""
    if text.count("<") <= limit:  # every element starts with one
        return
    parser = HTMLParser(target=_StartTags(), huge_tree=True, remove_comments=True, remove_pis=True)
    parser.feed(text)
    count = int(parser.close())
    if count > limit:
        raise PageRefused("too_many_elements", f"{count:,} elements (at most {limit:,} are parsed)")


def flatten_inline_floods(tree: HtmlElement, limit: int = MAX_INLINE_CHILDREN) -> int:
    """Flatten every element of ``tree`` with more than ``limit`` inline children; return how many were.

    Flattening strips the element's inline descendants (their text stays) and joins its text into one
    node per gap between the children it keeps (libxml2 would keep the stripped tags' texts as adjacent nodes).
    """
    # elements with many children of any kind found by libxml2 (count(a|b|...) would be a quadratic union)
    crowded = tree.xpath(f"descendant-or-self::*[count(*) > {int(limit)}]")
    floods = [element for element in crowded
              if sum(1 for child in element if isinstance(child.tag, str) and child.tag in INLINE_TAGS) > limit]
    for element in floods:
        _flatten(element)
    return len(floods)


def _flatten(element: HtmlElement) -> None:
    """Replace ``element``'s inline children by their text, joined in Python into one text node per gap
    between the children it keeps. (``etree.strip_tags`` would merge each stripped tag's text into the
    previous node in turn, copying the growing text every time: quadratic.)"""
    gaps: list[list[str]] = [[element.text or ""]]  # the text before the first kept child, after each
    kept: list[HtmlElement] = []
    for child in list(element):
        if isinstance(child.tag, str) and child.tag in INLINE_TAGS:
            gaps[-1] += ["".join(child.itertext()), child.tail or ""]
            child.tail = None
            element.remove(child)
        else:
            kept.append(child)
            gaps.append([child.tail or ""])
    element.text = "".join(gaps[0])
    for child, gap in zip(kept, gaps[1:]):
        child.tail = "".join(gap)
