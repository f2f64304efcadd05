"""Deduplication pipeline: same URL, same text, or near-duplicate (syndicated) text.

The first-seen article is kept. A later copy is dropped, or written with
``duplicate_of`` when ``AUTONEWS_KEEP_DUPLICATES`` is True (a re-fetched URL is always
dropped: that record was written already). Every URL of a copy is still recorded so
the seen-URL middleware does not fetch it again. Adds stay uncommitted until the
storage pipeline calls ``open_store(crawler).commit()`` after its lines are durable.

Settings: ``AUTONEWS_STATE`` (state file), ``AUTONEWS_KEEP_DUPLICATES`` (False),
``AUTONEWS_NEAR_THRESHOLD`` (``neardup.NEAR_THRESHOLD``).
Stats: ``autonews/dedupe/{unique,duplicate_url,duplicate_text,near_duplicate}``,
``autonews/dropped/{duplicate_url,duplicate_text,near_duplicate}``,
``autonews/kept_duplicate/{duplicate_text,near_duplicate}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from pipelines.dedupe.neardup import NEAR_THRESHOLD, NearSignature, near_signature, text_fingerprint
from pipelines.state.store import DedupeStore, open_store
from pipelines.dedupe.urls import choose_canonical, url_aliases

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

DUPLICATE_URL = "duplicate_url"
DUPLICATE_TEXT = "duplicate_text"
NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True, slots=True)
class DedupeKeys:
    """Everything an item is deduplicated by."""

    canonical_url: str
    aliases: tuple[str, ...]
    fingerprint: str
    signature: NearSignature | None


def dedupe_keys(item: dict[str, Any]) -> DedupeKeys:
    """Compute canonical URL, URL aliases (request, final, canonical), fingerprint and signature of an item."""
    url = item["url"]
    canonical = choose_canonical(url, item.get("_canonical"))
    aliases = tuple(a for a in url_aliases(item.get("request_url"), url, canonical) if a != canonical)
    text = item.get("text") or ""
    return DedupeKeys(canonical, aliases, text_fingerprint(text), near_signature(text))


def find_duplicate(
    store: DedupeStore, keys: DedupeKeys, threshold: float = NEAR_THRESHOLD
) -> tuple[str, str] | None:
    """Return ``(kind, owner canonical_url)`` of the first check that matches, or None for a new article.

    Checks, cheapest first: any of the URLs, the exact fingerprint, the near-duplicate index.
    """
    for url in (keys.canonical_url, *keys.aliases):
        owner = store.find_url(url)
        if owner is not None:
            return DUPLICATE_URL, owner
    owner = store.find_fingerprint(keys.fingerprint)
    if owner is not None:
        return DUPLICATE_TEXT, owner
    if keys.signature is not None:
        owner = store.find_near(keys.signature, threshold)
        if owner is not None:
            return NEAR_DUPLICATE, owner
    return None


class DedupePipeline:
    """Item pipeline that sets ``canonical_url`` and ``fingerprint`` and drops (or marks) duplicates."""

    def __init__(self, crawler: Crawler, keep_duplicates: bool = False, threshold: float = NEAR_THRESHOLD) -> None:
        """Use :meth:`from_crawler`; the store is opened on ``open_spider``."""
        self.crawler = crawler
        self.keep_duplicates = keep_duplicates
        self.threshold = threshold
        self.store: DedupeStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        """Build the pipeline from ``AUTONEWS_KEEP_DUPLICATES`` and ``AUTONEWS_NEAR_THRESHOLD``."""
        return cls(
            crawler,
            keep_duplicates=crawler.settings.getbool("AUTONEWS_KEEP_DUPLICATES", False),
            threshold=crawler.settings.getfloat("AUTONEWS_NEAR_THRESHOLD", NEAR_THRESHOLD),
        )

    def open_spider(self, spider: object = None) -> None:
        """Open (or share) the crawler's state store."""
        self.store = open_store(self.crawler)

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"autonews/{key}")

    def process_item(self, item: dict[str, Any], spider: object = None) -> dict[str, Any]:
        """Deduplicate one extracted article; raise DropItem for a copy unless duplicates are kept."""
        if self.store is None:
            self.open_spider()
        assert self.store is not None
        keys = dedupe_keys(item)
        item["canonical_url"] = keys.canonical_url
        item["fingerprint"] = keys.fingerprint
        found = self.claim(keys)
        if found is None:
            self._inc("dedupe/unique")
            return item
        kind, owner = found
        self._inc(f"dedupe/{kind}")
        if self.keep_duplicates and kind != DUPLICATE_URL:
            item["duplicate_of"] = owner
            self._inc(f"kept_duplicate/{kind}")
            return item
        self._inc(f"dropped/{kind}")
        item.pop("body", None)
        raise DropItem(f"{kind} of {owner}")

    def claim(self, keys: DedupeKeys) -> tuple[str, str] | None:
        """Record the article as new and return None, or return ``(kind, owner)`` of what it duplicates.

        A copy's URLs (not its text) are still recorded, so it is not fetched again and
        later copies keep matching the first-seen article.
        """
        assert self.store is not None
        found = find_duplicate(self.store, keys, self.threshold)
        if found is None:
            self.store.add(keys.canonical_url, aliases=keys.aliases, fingerprint=keys.fingerprint,
                           signature=keys.signature)
        else:
            self.store.add(keys.canonical_url, aliases=keys.aliases)
        return found
