"""RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom feeds: article URLs, dates and titles."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.discovery.dates import as_utc, normalize_feed_date
from crawler.discovery.safexml import (
    MAX_SIZE,
    DiscoveryError,
    local_name,
    namespace,
    parse_xml,
    read_body,
    text_of,
)

# Namespaces whose <title>/<link>/<guid> are the item's own, as opposed to
# media:title, itunes:title and similar extension elements with the same local name.
_CORE_NS = frozenset((
    "",
    "http://www.w3.org/2005/Atom",
    "http://purl.org/atom/ns#",
    "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://backend.userland.com/rss2",
))
_DATE_NS = _CORE_NS | {"http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/"}
# Most specific first: a publication date beats a modification date.
_DATE_FIELDS = ("published", "pubdate", "date", "issued", "created", "updated", "modified")
FEED_ROOTS = frozenset(("rss", "rdf", "feed", "channel"))
_SKIP_LINK_RELS = frozenset(("self", "enclosure", "edit", "replies", "via", "related", "license"))
_PLAIN_ABSOLUTE_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#][^\s]*)?\Z")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


@dataclass(frozen=True)
class Entry:
    """An article URL found in a feed or sitemap, with its date (ISO 8601) and title."""

    url: str
    published: str | None
    title: str | None = None
    modified: str | None = field(default=None, compare=False)
    """The latest date the entry gives (a feed's ``updated``, a sitemap's ``lastmod`` or news date):
    a stored article is fetched again when this is later than its last fetch. Derived from the dates
    above, so it takes no part in comparing entries."""


def parse_feed(body: bytes, base_url: str, max_size: int = MAX_SIZE) -> list[Entry]:
    """Entries of an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed, in document order.

    Relative links are resolved against xml:base or `base_url`; dates are
    normalised to ISO 8601; duplicate and non-http(s) links are dropped.
    Malformed XML is salvaged where possible; DiscoveryError is raised only when
    nothing usable parses (including an HTML page served instead of a feed).
    """
    root = parse_xml(read_body(body, max_size), base_url)
    entries = feed_entries(root, base_url)
    if not entries and local_name(root).lower() not in FEED_ROOTS:
        raise DiscoveryError(f"{base_url}: not a feed (root element <{local_name(root)}>)")
    return entries


def feed_entries(root: etree._Element, base_url: str) -> list[Entry]:
    """Entries from every <item>/<entry> element under `root`, deduplicated by URL."""
    found: dict[str, Entry] = {}
    for item in root.iter("{*}item", "{*}entry"):
        url = _item_link(item, base_url)
        if url is None or url in found:
            continue
        title = None
        dates: dict[str, str] = {}
        for child in item:
            name, ns = local_name(child).lower(), namespace(child)
            if name == "title" and ns in _CORE_NS and title is None:
                title = _clean_title(text_of(child))
            elif name in _DATE_FIELDS and ns in _DATE_NS and name not in dates:
                value = normalize_feed_date(text_of(child))
                if value is not None:
                    dates[name] = value
        date = next((dates[n] for n in _DATE_FIELDS if n in dates), None)
        found[url] = Entry(url=url, published=date, title=title, modified=latest_date(dates.values()))
    return list(found.values())


def latest_date(values: Iterable[str | None]) -> str | None:
    """The latest of some ISO 8601 dates (a date-only value counts as its day's start, UTC), or None."""
    best: tuple[datetime, str] | None = None
    for value in values:
        moment = as_utc(value)
        if moment is not None and (best is None or moment > best[0]):
            best = (moment, value or "")
    return best[1] if best else None


def _clean_title(title: str | None) -> str | None:
    """Plain text of a title that may carry escaped HTML (Atom type="html", CDATA)."""
    if title is None or ("<" not in title and "&" not in title):
        return title
    return " ".join(html.unescape(_TAG_RE.sub("", title)).split()) or None


def _item_link(item: etree._Element, base_url: str) -> str | None:
    """The article URL of a feed item, absolute, or None if it has no usable link."""
    candidates: list[tuple[etree._Element, str]] = []
    alternates: list[tuple[etree._Element, str]] = []
    guids: list[tuple[etree._Element, str]] = []
    for child in item:
        name, ns = local_name(child).lower(), namespace(child)
        if name == "origlink":  # feedburner:origLink is the publisher's URL, not the proxy's
            candidates.insert(0, (child, text_of(child) or ""))
        elif name == "link" and ns in _CORE_NS:
            href = child.get("href")
            if href is None:
                candidates.append((child, text_of(child) or ""))
            elif child.get("rel", "alternate") == "alternate":
                alternates.append((child, href))
            elif child.get("rel") not in _SKIP_LINK_RELS:
                guids.append((child, href))
        elif name in ("guid", "id") and ns in _CORE_NS and child.get("isPermaLink", "true") != "false":
            guids.append((child, text_of(child) or ""))
    about = item.get(_RDF_ABOUT)
    if about:
        guids.append((item, about))
    for element, raw in candidates + alternates + guids:
        url = absolute_url(raw, element.base or base_url)
        if url is not None:
            return url
    return None


def absolute_url(raw: str, base: str) -> str | None:
    """Resolve `raw` against `base`; None unless the result is an http(s) URL."""
    raw = raw.strip()
    if _PLAIN_ABSOLUTE_RE.match(raw):
        return raw  # the common case; urljoin would cost most of a large sitemap's parse time
    if not raw:
        return None
    try:
        url = urljoin(base, raw)
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url
