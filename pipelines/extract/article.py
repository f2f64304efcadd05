"""Article extraction as a pure function: page bytes and URL in, record fields out.

No Scrapy here: pool workers import this module (see ``pipelines.pool``).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipelines.extract.authors import jsonld_authors, page_authors
from pipelines.extract.bounds import check_depth, check_element_count, check_size, flatten_inline_floods
from pipelines.extract.byline import drop_byline_lines, name_line, visible_byline
from pipelines.extract.comments import drop_comment_sections
from pipelines.extract.dates import published_date
from pipelines.extract.html import decode_body, parse_html
from pipelines.extract.lead import visible_lead
from pipelines.extract.listing import is_listing
from pipelines.extract.meta import (
    MODIFIED_META,
    canonical_url,
    declared_languages,
    first_date,
    jsonld_objects,
    keywords,
    meta_values,
    meta_authors,
)
from pipelines.extract.pagetype import amp_canonical, page_flags
from pipelines.extract.title import SiteMatcher, page_title, site_name, site_names
from pipelines.extract.pagemeta import PageMetadata
from pipelines.extract.text import Paragraphs, best_text, main_text, split_lines
from pipelines.extract.limits import MIN_PARAGRAPHS, MIN_TEXT_CHARS
from pipelines.items import ExtractedPage

# kana, CJK ideographs and Hangul: the scripts text_weight counts three times
_WIDE_RUNS = re.compile("[\u3040-\u9fff\uac00-\ud7af]+")

SINGLE_PARAGRAPH_FACTOR = 1.5



def _dedupe(values: list[str]) -> list[str]:
    """Keep the first occurrence of each value (case-insensitive), dropping blanks."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        value = " ".join(value.split())
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def _author_sources(objects: list[dict[str, Any]], meta: dict[str, str], page: PageMetadata) -> Iterator[list[str]]:
    """Author candidates, most trusted first: JSON-LD, <meta>, trafilatura's guess (which reads the visible
    byline, so it is only computed when the first two name nobody). A plain visible-byline search of our
    own was measured and lost (it returns follow buttons and logos)."""
    yield jsonld_authors(objects)
    yield meta_authors(meta)
    yield (page.author or "").split(";")


def extract_article(body: bytes | str, url: str, encoding: str | None = None, *, min_chars: int = MIN_TEXT_CHARS,
                    min_paragraphs: int = MIN_PARAGRAPHS) -> ExtractedPage | None:
    """Extract text and metadata from one HTML page; None when it is not an article.

    Pure and picklable (bytes in, a dataclass out) so it can run in a process pool. A page is not an
    article when it cannot be decoded or parsed, or its main text is under ``min_chars`` characters or
    ``min_paragraphs`` paragraphs, or is mostly link texts (a listing). A page nested too deeply to be parsed
    whole raises ``PageRefused("too_deep")``, one with more paragraphs or elements than trafilatura
    handles in time ``PageRefused("too_many_paragraphs")`` or ``("too_many_elements")``; inline-tag floods are flattened first (``pipelines.extract.bounds``).
    """
    text = decode_body(body, encoding)
    if text is not None:
        check_element_count(text)  # raises PageRefused("too_many_elements") before a huge tree is built
    tree = parse_html(text) if text is not None else None
    if tree is None:
        return None
    check_depth(tree)  # raises PageRefused("too_deep"): never judged on a part the parser cut off
    bounded = ["inline_flood"] if flatten_inline_floods(tree) else []
    check_size(tree)  # after flattening (a flood's tags are gone): raises PageRefused("too_many_...")
    drop_comment_sections(tree)  # before any text is read: metadata never comes from a reader's comment
    paragraphs = Paragraphs(tree)
    text = best_text(tree, url, paragraphs)
    if text is None:
        return None
    page = PageMetadata(tree, url)
    objects, meta = jsonld_objects(tree), meta_values(tree)
    ld_title = next((o["headline"] for o in objects if isinstance(o.get("headline"), str)), None)
    own_names = site_names(tree, objects, meta)
    site = SiteMatcher(own_names, url)
    title = page_title(tree, objects, meta, site, page.title or ld_title)
    headings = [title, page.title, ld_title, meta.get("og:title"), meta.get("twitter:title")]
    headings += [" ".join(h.text_content().split()) for h in tree.iter("h1")][:2]
    main = main_text(tree, url, text, headings, paragraphs)
    if lead := visible_lead(tree, page.description, main):
        main = f"{lead}\n{main}"
    lines = split_lines(main)
    weight = text_weight(main)
    # one long paragraph is an article too (a wire brief, a page whose text has no paragraph breaks)
    too_few = len(lines) < min_paragraphs and weight < SINGLE_PARAGRAPH_FACTOR * max(min_chars, MIN_TEXT_CHARS)
    if weight < min_chars or too_few or is_listing(tree, lines):
        return None

    published, published_from = published_date(tree, objects, meta, lambda: page.date, url)
    # trafilatura's byline search (by class names), then a plain "By/Von/Par … <names>" line of the page,
    # then names in bold alone above the text
    authors = page_authors(_author_sources(objects, meta, page), site.names_site,
                           [lambda: (page.visible_author or "").split(";"), lambda: visible_byline(tree),
                            lambda: name_line(tree, main)])
    main = drop_byline_lines(main, authors)
    return ExtractedPage(
        title=title,
        authors=authors,
        published=published,
        published_from=published_from,
        modified=first_date(objects, meta, "dateModified", MODIFIED_META),
        description=page.description or None,
        site_name=site_name(page.sitename or None, own_names, title, url),
        image=page.image or None,
        tags=_dedupe(list(page.categories or []) + list(page.tags or []) + keywords(objects, meta)),
        text=main,
        flags=page_flags(tree, meta, title, main),
        amp_canonical=amp_canonical(tree, url),
        declared_languages=declared_languages(tree, meta),
        canonical_hint=canonical_url(tree, meta, url),
        bounded=tuple(bounded),
    )


def text_weight(text: str) -> int:
    """Length of ``text`` in Latin-script characters: a CJK character carries about three.

    A full Chinese or Japanese news item can be 250 characters long; counted as is, the
    minimum length made for alphabetic scripts would take it for a page that is not an article.
    """
    wide = len(text) - len(_WIDE_RUNS.sub("", text))  # in C: a Python loop cost 1.5 s on an 8 MB text
    return len(text) + 2 * wide
