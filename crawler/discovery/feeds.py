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
from crawler.discovery.limits import MAX_SITEMAP_URLS
from crawler.discovery.safexml import (
    MAX_SIZE,
    DiscoveryError,
    local_name,
    namespace,
    read_body,
    scan_xml,
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
FEED_ITEM_TAGS = ("{*}item", "{*}entry")
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


class EntryList:
    """Entries of one document in order, deduplicated by URL, at most `cap`; what is left out is counted.

    `over_cap` counts the entries met once the list was full: they are not read any
    further (so a repeat of a kept URL there counts too), which keeps a document of a
    million entries cheap. `not_http` counts the entries whose only link has another
    scheme (javascript:, data:, file:, ftp:, mailto:...), which never become requests.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.found: dict[str, Entry] = {}
        self.over_cap = 0
        self.not_http = 0

    def skip_when_full(self) -> bool:
        """True once `cap` entries are kept: the entry at hand is then skipped, and counted as over the cap."""
        if len(self.found) >= self.cap:
            self.over_cap += 1
            return True
        return False

    def wants(self, url: str) -> bool:
        """True if an entry for `url` should be built and `add`ed: not a duplicate (ask `skip_when_full` first)."""
        return url not in self.found

    def add(self, entry: Entry) -> None:
        """Keep `entry` (call only after `wants` said yes)."""
        self.found[entry.url] = entry

    @property
    def entries(self) -> list[Entry]:
        """The kept entries, in document order."""
        return list(self.found.values())


@dataclass(frozen=True)
class FeedResult:
    """A parsed feed: its entries, and how many it listed beyond the cap or with a non-http(s) link.

    The counts are left out of equality: two results are equal when they list the same entries.
    """

    entries: list[Entry]
    over_cap: int = field(default=0, compare=False)
    not_http: int = field(default=0, compare=False)


def parse_feed(body: bytes, base_url: str, max_size: int = MAX_SIZE) -> list[Entry]:
    """Entries of an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed, in document order (see `read_feed`)."""
    return read_feed(body, base_url, max_size).entries


def read_feed(body: bytes, base_url: str, max_size: int = MAX_SIZE, max_urls: int = MAX_SITEMAP_URLS) -> FeedResult:
    """Entries of an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed, in document order, at most `max_urls`.

    Relative links are resolved against xml:base or `base_url`; dates are
    normalised to ISO 8601; duplicate and non-http(s) links are dropped (the
    latter counted). A feed is held to the sitemap protocol's URL limit: it may
    stand in for a sitemap, and it is as large a document.
    Malformed XML is salvaged where possible; DiscoveryError is raised only when
    nothing usable parses (including an HTML page served instead of a feed).
    """
    root, found = scan_xml(read_body(body, max_size), base_url, FEED_ITEM_TAGS,
                           lambda items: feed_entries(items, base_url, max_urls))
    if not found.found and local_name(root).lower() not in FEED_ROOTS:
        raise DiscoveryError(f"{base_url}: not a feed (root element <{local_name(root)}>)")
    return FeedResult(found.entries, found.over_cap, found.not_http)


def feed_entries(items: Iterable[etree._Element], base_url: str, cap: int) -> EntryList:
    """Entries from <item>/<entry> elements (as `scan_xml` streams them), deduplicated by URL, at most `cap`."""
    found = EntryList(cap)
    for item in items:
        add_feed_item(found, item, base_url)
    return found


def add_feed_item(found: EntryList, item: etree._Element, base_url: str) -> None:
    """Add the entry of one <item>/<entry> to `found`, unless it has no usable link or is one too many."""
    if found.skip_when_full():
        return
    url, other_scheme = _item_link(item, base_url)
    if url is None:
        found.not_http += other_scheme
        return
    if not found.wants(url):
        return
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
    found.add(Entry(url=url, published=date, title=title, modified=latest_date(dates.values())))


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


def _item_link(item: etree._Element, base_url: str) -> tuple[str | None, bool]:
    """The article URL of a feed item, absolute, or None if it has no usable link.

    The flag says whether a link was left out for its scheme (javascript:, file:...).
    """
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
    other_scheme = False
    for element, raw in candidates + alternates + guids:
        url = absolute_url(raw, element.base or base_url)
        if url is not None:
            return url, False
        other_scheme = other_scheme or has_other_scheme(raw)
    return None, other_scheme


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


def has_other_scheme(raw: str) -> bool:
    """True if `raw` names a scheme other than http(s): javascript:, data:, file:, ftp:, mailto:..."""
    try:
        scheme = urlsplit(raw.strip()).scheme
    except ValueError:
        return False
    return bool(scheme) and scheme not in ("http", "https")
