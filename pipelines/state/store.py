"""The dedupe state's interface, ``DedupeStore``, and the check every backend's claim makes.

Backends: ``pipelines.state.sqlite_store.SQLiteStore`` (one file, one crawl at a time) and
``pipelines.state.redis_store.RedisStore`` (shared by distributed workers, atomic claims);
``pipelines.state.backend`` picks one from the ``AUTONEWS_STATE`` URI.

Durability contract: ``claim`` and ``add`` write inside an open transaction that only ``commit``
ends. The storage pipeline calls ``commit()`` after the article lines are written and fsynced,
so an article is never recorded as seen before its line is durable. Lookups through the same
store see the uncommitted adds (in-run duplicates are caught); other connections do not.
``close()`` rolls back whatever was not committed.

Versions: a stored article keeps its latest fingerprint, its version (1 for the first), the
ETag / Last-Modified it was served with and when it was last fetched (``checked``). A claim made
with ``update=True`` (the page is a deliberate re-fetch of that stored article) whose text
changed records the new version and returns :class:`NewVersion`; an unchanged text only
refreshes ``checked`` and the validators.

What stays indexed of earlier versions (a decision, README "Updated articles"): the fingerprints and
near-duplicate bands of an article's first `INDEXED_VERSIONS` versions, and the latest version's
fingerprint (its near-duplicate ``mins`` too, which verify candidates found through any kept band).
A syndicated copy is nearly always made of the first version or an early update, and the versions
of one story are near-duplicates of one another, so a copy of a later version is still found through
the kept bands (and an exact copy of the latest through its fingerprint). Versions beyond that
replace one another without adding keys: an article that changes on every fetch no longer grows
the state by a fingerprint and up to 24 band rows a version (the re-fetch budget bounds how often
that is, the cap how much it may cost).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from pipelines.dedupe.neardup import NEAR_THRESHOLD, NearSignature

INDEXED_VERSIONS = 4
"""Versions of one article whose fingerprint and bands stay indexed (the latest one's fingerprint always is)."""

DUPLICATE_URL = "duplicate_url"
DUPLICATE_TEXT = "duplicate_text"
NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What ``claim(..., update=True)`` returns when a stored article's text changed: record it as this version."""

    canonical_url: str
    version: int
    previous_fingerprint: str
    """The fingerprint of the version before (for articles stored before versions were kept: its first 16 hex digits)."""


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """What the state keeps about one stored article, as the seen-URL middleware needs it."""

    canonical_url: str
    version: int
    fingerprint: str | None
    etag: str | None
    last_modified: str | None
    first_seen: datetime
    checked: datetime | None
    """When its latest version was fetched, or it was last re-fetched unchanged (None: before versions were kept)."""


@dataclass(frozen=True, slots=True)
class UrlMemory:
    """What the state remembers about fetching one URL, beside the articles (the re-fetch budget, README
    "Updated articles"). Nothing of it is in the output, so ``autonews state rebuild`` cannot (and need not)
    restore it: without it, a stored article is simply due for a check again and a page that was not an
    article is fetched once more."""

    checked: datetime | None
    """When the stored article at this URL was last fetched again, whatever the answer (a 304 included)."""
    not_article: datetime | None
    """When the page at this URL was last found not to be an article (None: never)."""
    versions_day: date | None
    """The UTC day ``versions`` counts for."""
    versions: int
    """New versions of the article at this URL written on ``versions_day``."""


ClaimResult = tuple[str, str] | NewVersion | None
"""``None``: a new article (version 1); ``(kind, owner)``: a duplicate; ``NewVersion``: a changed stored article."""


@runtime_checkable
class DedupeStore(Protocol):
    """What the dedupe pipeline, the seen-URL middleware and the storage pipeline need from a state backend."""

    closed: bool

    def has_url(self, canonical: str) -> bool:
        """Return True when this canonical URL (or alias) was recorded."""

    def find_url(self, canonical: str) -> str | None:
        """Return the canonical URL of the article that owns this URL or alias, or None."""

    def find_fingerprint(self, fp: str) -> str | None:
        """Return the canonical URL of the article with this text fingerprint, or None."""

    def find_near(self, signature: NearSignature, threshold: float = NEAR_THRESHOLD) -> str | None:
        """Return the canonical URL of the most similar recorded article at or above ``threshold``, or None."""

    def find_article(self, url: str) -> StoredArticle | None:
        """Return what is stored about the article that owns this URL (or alias), or None."""

    def claim(
        self,
        canonical_url: str,
        *,
        aliases: Iterable[str] = (),
        fingerprint: str | None = None,
        signature: NearSignature | None = None,
        threshold: float = NEAR_THRESHOLD,
        update: bool = False,
        version: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
        checked: datetime | None = None,
    ) -> ClaimResult:
        """Record the article as new and return None, or return ``(kind, owner canonical_url)`` of what it
        duplicates (its URLs are then recorded under the owner, so it is not fetched again).

        ``update``: the page is a re-fetch of the article stored at ``canonical_url``; a changed text is then
        recorded as its next version and :class:`NewVersion` returned (when ``version`` is given, only if
        the next version is that one: recovery of a written line). ``etag``, ``last_modified``, ``checked``:
        the page's validators and fetch time, kept for the next re-fetch.
        """

    def add(
        self,
        canonical_url: str,
        *,
        aliases: Iterable[str] = (),
        fingerprint: str | None = None,
        signature: NearSignature | None = None,
        first_seen: datetime | None = None,
        version: int = 1,
        checked: datetime | None = None,
    ) -> None:
        """Record an article (uncommitted until :meth:`commit`); a higher ``version`` of a stored one replaces its text keys."""

    def add_record(self, record: dict) -> None:
        """Record an article from a written record (used to recover interrupted runs)."""

    def load_progress(self) -> dict[str, dict]:
        """Return the backfill's progress per WARC file (``crawler.backfill.progress``): name -> its JSON object."""

    def save_progress(self, name: str, progress: dict) -> None:
        """Record one WARC file's backfill progress; durable with the next :meth:`commit` (Redis: at once)."""

    def release(self, canonical_url: str) -> None:
        """Forget one article claimed or added since the last commit (its record could not be written),
        so it is new again for the next claim and the next run; a no-op for anything else."""

    def commit(self) -> None:
        """Make every add since the last commit durable."""

    def rollback(self) -> None:
        """Forget every add since the last commit."""

    def close(self) -> None:
        """Roll back uncommitted adds and release the backend."""

    def stats(self) -> dict:
        """Return counts and sizes describing the state."""

    def prune(self, older_than: timedelta) -> int:
        """Forget articles first seen more than ``older_than`` ago; return how many; commits."""

    def url_memory(self, url: str) -> UrlMemory | None:
        """Return what the state remembers about fetching ``url`` (a canonical URL), or None."""

    def record_check(self, url: str, at: datetime) -> None:
        """Remember that the stored article at ``url`` was fetched again at ``at`` (any answer, a 304 too)."""

    def record_not_article(self, url: str, at: datetime) -> None:
        """Remember that the page at ``url`` was found not to be an article at ``at``."""

    def record_version(self, url: str, at: datetime) -> int:
        """Count one new version of the article at ``url`` written at ``at``; return the count of that UTC day."""


def find_duplicate(store: DedupeStore, urls: Iterable[str], fingerprint: str | None,
                   signature: NearSignature | None, threshold: float = NEAR_THRESHOLD) -> tuple[str, str] | None:
    """Return ``(kind, owner canonical_url)`` of the first check that matches, or None for a new article.

    Checks, cheapest first: any of the URLs, the exact fingerprint, the near-duplicate index.
    """
    for url in urls:
        owner = store.find_url(url)
        if owner is not None:
            return DUPLICATE_URL, owner
    if fingerprint is not None:
        owner = store.find_fingerprint(fingerprint)
        if owner is not None:
            return DUPLICATE_TEXT, owner
    if signature is not None:
        owner = store.find_near(signature, threshold)
        if owner is not None:
            return NEAR_DUPLICATE, owner
    return None
