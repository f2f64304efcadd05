"""Page types a downstream reader must know about: paywalled pages, live blogs, AMP copies.

- ``paywalled``: the page says its content is not free (JSON-LD ``isAccessibleForFree: false``, or a
  ``hasPart`` marked so with the CSS selector of the hidden part; ``article:content_tier`` locked or
  metered), or the extracted text is visibly a teaser (short, and ending on a subscription prompt).
- ``live_blog``: a ``LiveBlogPosting``, or a headline that calls itself a live ticker or live blog.
  Its updates stay paragraphs in the order the page publishes them (newest first).
- AMP: an ``<html amp>`` / ``<html ⚡>`` page is a copy; its ``rel=canonical`` is the article's URL.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from pipelines.extract.meta import jsonld_all

PAYWALLED = "paywalled"
LIVE_BLOG = "live_blog"
_LIVE_TITLE = re.compile(r"\b(?:live-?ticker|liveticker|live-?blog|liveblog|live updates?|en direct|en vivo|ao vivo"
                         r"|in diretta|na żywo)\b|^\s*\+*\s*live\b|\blive\s*(?:\+\+\+|[:|–-])", re.I)
# a teaser ends on an invitation to pay for the rest
_PAYWALL_PROMPT = re.compile(r"(?:subscribe|subscription|abonnieren|abonnement|abo\b|plus-artikel|weiterlesen mit"
                             r"|jetzt (?:weiter)?lesen|registrieren|abonnez|abonnés|suscríbete|assine|log in to read"
                             r"|sign in to read|to continue reading|um weiterzulesen|read the full (?:story|article))",
                             re.I)
_TEASER_MAX_CHARS = 1200


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def page_flags(tree: HtmlElement, meta: dict[str, str], title: str | None, text: str) -> list[str]:
    """The page-type flags of a page (``paywalled``, ``live_blog``), in that order."""
    flags: list[str] = []
    objects = jsonld_all(tree)
    paywalled = any(_false(obj.get("isAccessibleForFree")) for obj in objects)
    paywalled = paywalled or meta.get("article:content_tier", "").lower() in ("locked", "metered")
    if not paywalled and len(text) <= _TEASER_MAX_CHARS:
        tail = text.strip().split("\n")[-1] if text.strip() else ""
        paywalled = bool(_PAYWALL_PROMPT.search(tail))
    if paywalled:
        flags.append(PAYWALLED)
    kinds = {str(k).lower() for obj in objects
             for k in (obj.get("@type") if isinstance(obj.get("@type"), list) else [obj.get("@type")])}
    if "liveblogposting" in kinds or (title and _LIVE_TITLE.search(title)):
        flags.append(LIVE_BLOG)
    return flags


def is_amp(tree: HtmlElement) -> bool:
    """Whether the page is an AMP document (``<html amp>`` or ``<html ⚡>``)."""
    root = tree.getroottree().getroot()
    return any(name.lower() in ("amp", "⚡") for name in root.attrib)


def amp_canonical(tree: HtmlElement, url: str) -> str | None:
    """The rel=canonical URL of an AMP page (absolute, http(s)), or None for any other page."""
    if not is_amp(tree):
        return None
    for link in tree.iterfind(".//link[@rel]"):
        if link.get("rel", "").strip().lower() == "canonical" and link.get("href", "").strip():
            target = urljoin(url, link.get("href").strip())
            return target if target.startswith(("http://", "https://")) and target != url else None
    return None
