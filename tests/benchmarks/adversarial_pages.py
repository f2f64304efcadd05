"""Pathological pages for ``tests.benchmarks.adversarial``: each is a hostile site's cheapest way to make
one page cost a crawl minutes or gigabytes (long one-line texts, repeated tags, deep nesting, floods).

Every generator takes a size in characters (bytes, roughly) of the text it floods with and returns the page's
HTML as a string; the pages are built so the flood reaches extraction (inside <article>, in <p>).
"""
from __future__ import annotations

import json
from collections.abc import Callable

_HEAD = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>{head}</head><body>"
_INTRO = ("<p>The carmaker said on Tuesday that its new electric platform will underpin six models by 2027, "
          "with production starting at its plant in the spring.</p>"
          "<p>Analysts expect the platform to cut costs by a fifth compared with the current generation, "
          "the company told investors in a call.</p>")


def _page(body: str, *, title: str = "Carmaker unveils platform", head: str = "") -> str:
    """A page with ``body`` inside its article, after two ordinary paragraphs."""
    return _HEAD.format(title=title, head=head) + f"<article><h1>{title}</h1>{_INTRO}{body}</article></body></html>"


def _repeat(unit: str, size: int) -> str:
    """``unit`` repeated up to ``size`` characters."""
    return unit * max(1, size // len(unit))


def latin_spaces(size: int) -> str:
    """One paragraph of ``size`` characters of Latin words, no line break."""
    return _page("<p>" + _repeat("the quick brown fox jumps over the lazy dog ", size) + "</p>")


def latin_nospace(size: int) -> str:
    """One word of ``size`` characters."""
    return _page("<p>" + _repeat("abcdefghij", size) + "</p>")


def teaser_tail(size: int) -> str:
    """A long line almost matching the in-body teaser pattern (``... [VIDEO]``) at every position."""
    return _page("<p>" + _repeat("word [AB] ", size) + "</p>")


def cjk(size: int) -> str:
    """One paragraph of ``size`` CJK characters, no spaces, no line break."""
    return _page("<p>" + _repeat("电动汽车制造商周二表示新平台将支撑六款车型", size) + "</p>")


def inline_tags(size: int) -> str:
    """One paragraph whose words are each wrapped in an inline tag."""
    return _page("<p>" + _repeat("<b>motor</b> <i>car</i> <a href=\"#x\">link</a> ", size) + "</p>")


def many_paragraphs(size: int) -> str:
    """``size`` / 80 short paragraphs (100k at 8 MB)."""
    return _page(_repeat("<p>Sales rose by a tenth in the quarter, led by the compact model line.</p>", size))


def repeated_tags(size: int) -> str:
    """Empty and unclosed inline tags repeated (``<b><i>...``), the parser's repair work."""
    return _page("<p>" + _repeat("<span><b>x</b></span><br>", size) + "</p>")


def deep_nesting(size: int) -> str:
    """Text at the bottom of ``size`` / 10 nested <div>s (100k deep at 1 MB)."""
    depth = max(300, size // 10)
    return _page("<div>" * depth + "<p>" + _repeat("Deep text in the bottom paragraph of the article. ", 600)
                 + "</p>" + "</div>" * depth)


def deep_unclosed(size: int) -> str:
    """``size`` / 5 unclosed <div>s, then the text."""
    depth = max(300, size // 5)  # 200k deep at 1 MB
    return _page("<div>" * depth + "<p>" + _repeat("Deep text in the bottom paragraph of the article. ", 600)
                 + "</p>")


def huge_title(size: int) -> str:
    """A <title>, og:title and <h1> of ``size`` characters each."""
    title = _repeat("Huge headline ", size)
    return _page("<p>" + _repeat("Normal article text about cars. ", 2000) + "</p>", title=title,
                 head=f"<meta property=\"og:title\" content=\"{title}\">")


def huge_jsonld(size: int) -> str:
    """A JSON-LD NewsArticle with a headline, body and ``size`` / 30 authors."""
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": _repeat("Long headline ", size // 4),
          "articleBody": _repeat("Body text. ", size // 4),
          "author": [{"@type": "Person", "name": f"Author {i}"} for i in range(size // 60)]}
    return _page("<p>" + _repeat("Normal article text about cars. ", 2000) + "</p>",
                 head=f"<script type=\"application/ld+json\">{json.dumps(ld)}</script>")


def deep_jsonld(size: int) -> str:
    """A JSON-LD document nested ``size`` / 2 levels deep."""
    depth = max(300, size // 2)
    return _page("<p>" + _repeat("Normal article text about cars. ", 2000) + "</p>",
                 head="<script type=\"application/ld+json\">" + "[" * depth + "]" * depth + "</script>")


def link_farm(size: int) -> str:
    """``size`` / 40 links in one list."""
    return _page("<ul>" + _repeat("<li><a href=\"/a/b\">Related link</a></li>", size) + "</ul>")


def comment_flood(size: int) -> str:
    """A comment section of ``size`` / 120 reader comments after the article."""
    comments = _repeat("<div class=\"comment\"><p class=\"author\">Reader</p><p>I think this car is great "
                       "and I would buy one.</p></div>", size)
    return _page(f"<section id=\"comments\" class=\"comments\">{comments}</section>")


def entity_flood(size: int) -> str:
    """One paragraph of character references (named, decimal, hex)."""
    return _page("<p>" + _repeat("&amp;&#233;&#x4e2d;&nbsp;&lt;", size) + "</p>")


def many_lines(size: int) -> str:
    """One paragraph of ``size`` / 30 short lines (<br> and a newline each): the line-by-line steps."""
    return _page("<p>" + _repeat("Line of text about cars.<br>\n", size) + "</p>")


PAGES: dict[str, Callable[[int], str]] = {
    f.__name__: f for f in (latin_spaces, latin_nospace, teaser_tail, cjk, inline_tags, many_paragraphs,
                            repeated_tags, deep_nesting, deep_unclosed, huge_title, huge_jsonld, deep_jsonld,
                            link_farm, comment_flood, entity_flood, many_lines)
}
