"""Deduplication pipeline: same URL, same text, or near-duplicate (syndicated) text.

The first-seen article is kept. A later copy is dropped, or written with
``duplicate_of`` when ``AUTONEWS_KEEP_DUPLICATES`` is True (a re-fetched URL is always
dropped: that record was written already). Every URL of a copy is still recorded so
the seen-URL middleware does not fetch it again. Adds stay uncommitted until the
storage pipeline calls ``open_store(crawler).commit()`` after its lines are durable.

A stored article fetched again on purpose (``Article.recheck``: its feed or sitemap date is newer
than its last fetch) whose text changed is not a duplicate: it goes on as the article's next
``version``, with ``previous_fingerprint``; an unchanged one is dropped (``duplicate_url``). At most
``AUTONEWS_MAX_VERSIONS_PER_DAY`` new versions of one article are written per UTC day (0: no limit): a
changed text beyond that is dropped and counted (``autonews/dropped/version_cap``) without touching the
state, so the article is still due and its latest text is written on a later day.

The fingerprint and the signature's shingle hashes (most of its cost) are normally computed with the
extraction, in its pool task (``pipelines.analysis``: this stage asks for them when built); an article
without them gets them here.

Settings: ``AUTONEWS_STATE`` (state file), ``AUTONEWS_KEEP_DUPLICATES`` (False),
``AUTONEWS_NEAR_THRESHOLD`` (``neardup.NEAR_THRESHOLD``).
Stats: ``autonews/dedupe/{unique,new_version,duplicate_url,duplicate_text,near_duplicate}``,
``autonews/dropped/version_cap``,
``autonews/dropped/{duplicate_url,duplicate_text,near_duplicate}``,
``autonews/kept_duplicate/{duplicate_text,near_duplicate}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from datetime import datetime, timezone

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem


from pipelines.analysis import analysis_plan
from pipelines.dedupe.journal import DroppedCopy
from pipelines.dedupe.neardup import (NEAR_THRESHOLD, NearSignature, near_signature, signature_from_hashes,
                                      text_fingerprint)
from pipelines.dedupe.urls import choose_canonical, url_aliases
from pipelines.items import Article, TextAnalysis
from pipelines.state.backend import open_store
from pipelines.state.store import DUPLICATE_URL, DedupeStore, NewVersion


MAX_VERSIONS_PER_DAY = 3
"""New versions of one article written per UTC day (``AUTONEWS_MAX_VERSIONS_PER_DAY``; 0: no limit)."""


class DuplicateDropped(DropItem):
    """A copy dropped as a duplicate, with what the drop journal (``pipelines.dedupe.journal``) keeps of it."""

    def __init__(self, copy: DroppedCopy, recheck: bool = False) -> None:
        """``recheck``: an unchanged re-fetch of a stored article (its URLs are the article's own)."""
        super().__init__(f"{copy.kind} of {copy.duplicate_of}")
        self.copy = copy
        self.recheck = recheck


@dataclass(frozen=True, slots=True)
class DedupeKeys:
    """Everything an article is deduplicated by."""

    canonical_url: str
    aliases: tuple[str, ...]
    fingerprint: str
    signature: NearSignature | None


def dedupe_keys(url: str, canonical_hint: str | None, request_url: str | None, text: str,
                source_hosts: Iterable[str] | None = None, computed: TextAnalysis | None = None) -> DedupeKeys:
    """Canonical URL, URL aliases (request, final, canonical), fingerprint and signature of an article.

    ``source_hosts``: where the canonical hint may point (``urls.choose_canonical``); None trusts it.
    ``computed``: the analysis of ``text`` made with its extraction; its fingerprint and shingle hashes
    are used when it has them (the signature is finished from the hashes).
    """
    canonical = choose_canonical(url, canonical_hint, source_hosts)
    aliases = tuple(a for a in url_aliases(request_url, url, canonical) if a != canonical)
    if computed is not None and computed.fingerprint is not None:
        hashes = computed.signature_hashes
        signature = None if hashes is None else signature_from_hashes(hashes)
        return DedupeKeys(canonical, aliases, computed.fingerprint, signature)
    return DedupeKeys(canonical, aliases, text_fingerprint(text), near_signature(text))


class DedupePipeline:
    """Item pipeline that sets ``canonical_url`` and ``fingerprint`` and drops (or marks) duplicates."""

    def __init__(self, crawler: Crawler, keep_duplicates: bool = False, threshold: float = NEAR_THRESHOLD,
                 max_versions_per_day: int = MAX_VERSIONS_PER_DAY) -> None:
        """Use :meth:`from_crawler`; the store is opened on ``open_spider``."""
        self.crawler = crawler
        self.keep_duplicates = keep_duplicates
        self.threshold = threshold
        self.max_versions_per_day = max_versions_per_day
        self.store: DedupeStore | None = None
        # the extraction stage's pool task computes the fingerprint and the shingle hashes (see dedupe_keys)
        analysis_plan(crawler).dedupe_keys = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        """Build the pipeline from ``AUTONEWS_KEEP_DUPLICATES``, ``AUTONEWS_NEAR_THRESHOLD`` and
        ``AUTONEWS_MAX_VERSIONS_PER_DAY``."""
        return cls(
            crawler,
            keep_duplicates=crawler.settings.getbool("AUTONEWS_KEEP_DUPLICATES", False),
            threshold=crawler.settings.getfloat("AUTONEWS_NEAR_THRESHOLD", NEAR_THRESHOLD),
            max_versions_per_day=crawler.settings.getint("AUTONEWS_MAX_VERSIONS_PER_DAY", MAX_VERSIONS_PER_DAY),
        )

    def open_spider(self, spider: object = None) -> None:
        """Open (or share) the crawler's state store."""
        self.store = open_store(self.crawler)

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"autonews/{key}")

    def versions_full(self, keys: DedupeKeys, now: datetime) -> bool:
        """True when a re-fetched article's text changed but its versions of today are all written already."""
        if self.max_versions_per_day <= 0:
            return False
        assert self.store is not None
        stored = self.store.find_article(keys.canonical_url)
        if stored is None or stored.fingerprint is None or keys.fingerprint.startswith(stored.fingerprint):
            return False  # not stored, or unchanged (an article from before versions: a prefix of 16 digits)
        memory = self.store.url_memory(keys.canonical_url)
        return (memory is not None and memory.versions_day == now.date()
                and memory.versions >= self.max_versions_per_day)

    def process_item(self, item: Article) -> Article:
        """Deduplicate one extracted article; raise DropItem for a copy unless duplicates are kept."""
        if self.store is None:
            self.open_spider()
        assert self.store is not None
        keys = dedupe_keys(item.url, item.canonical_hint, item.request_url, item.text, item.source_domains,
                           item.analysis)
        item.canonical_url = keys.canonical_url
        item.fingerprint = keys.fingerprint
        now = datetime.now(timezone.utc)
        if item.recheck and self.versions_full(keys, now):
            self._inc("dropped/version_cap")
            raise DropItem(f"version_cap: {self.max_versions_per_day} versions of {keys.canonical_url} today")
        found = self.store.claim(keys.canonical_url, aliases=keys.aliases, fingerprint=keys.fingerprint,
                                 signature=keys.signature, threshold=self.threshold, update=item.recheck,
                                 etag=item.etag, last_modified=item.last_modified)
        if found is None:
            self._inc("dedupe/unique")
            return item
        if isinstance(found, NewVersion):
            item.version, item.previous_fingerprint = found.version, found.previous_fingerprint
            if self.max_versions_per_day > 0:
                # in the claim's transaction (SQLite): released with it when its line cannot be written
                self.store.record_version(keys.canonical_url, now)
            self._inc("dedupe/new_version")
            return item
        kind, owner = found
        self._inc(f"dedupe/{kind}")
        if self.keep_duplicates and kind != DUPLICATE_URL:
            item.duplicate_of = owner
            self._inc(f"kept_duplicate/{kind}")
            return item
        self._inc(f"dropped/{kind}")
        raise DuplicateDropped(DroppedCopy(keys.canonical_url, keys.aliases, owner, kind), recheck=item.recheck)
