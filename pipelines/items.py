"""The item contract between the stages, declared once.

Data path: a spider yields a :class:`PageItem` (one fetched candidate page); the pure
``extract_article`` turns its bytes into :class:`ExtractedPage` fields, which the extraction
pipeline merges with the page into an :class:`Article`; language detection, deduplication
and the record stage fill in the rest of the article, and storage writes the public record
(``pipelines.record.build_record``: the JSON Schema in ``pipelines/article.schema.json``).
The extraction's pool task (``pipelines.analysis.analyse_page``) also runs the later stages'
pure computations on the article's text, handed on as the article's :class:`TextAnalysis`.

Dataclasses, not dicts: Scrapy carries them as items (through ``itemadapter``), every stage
names the fields it reads, and hints between stages are fields with a meaning rather than
``_``-prefixed keys. Everything here is plain data and picklable, so the extraction half
crosses the process pool unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.language.detect import LanguageResult


@dataclass(frozen=True, slots=True)
class WarcOrigin:
    """Where a backfilled page was read (``autonews backfill``): the record's ``warc`` field."""

    file: str
    """The WARC file as the run named it: a CC-NEWS path, a URL or a local path."""
    record_id: str
    """The record's ``WARC-Record-ID``."""
    offset: int
    """Byte offset of the record in the (compressed) file: where a reader seeks to read it again."""


@dataclass(slots=True)
class PageItem:
    """A fetched candidate article page, as a spider hands it to the pipelines.

    Headers and feed dates are normalised once, by the spider and the discovery parsers:
    ``content_languages`` are ISO 639-1 codes parsed from Content-Language, and
    ``feed_published`` is already ISO 8601.
    """

    url: str
    """Final URL, after redirects."""
    request_url: str
    """The URL first requested (a feed's or a section page's link), before redirects."""
    source: str
    """Registry entry the page was found through (``oneoff`` for ``autonews scrape``)."""
    body: bytes
    """Raw response body; dropped as soon as it is extracted (and before any DropItem logs the item)."""
    fetched_at: str
    """UTC ISO 8601 time of the fetch."""
    encoding: str | None = None
    """Charset declared in the Content-Type header, if any."""
    content_languages: tuple[str, ...] = ()
    """Languages declared by the Content-Language header, normalised."""
    feed_published: str | None = None
    """Publication date given by the feed or sitemap entry (ISO 8601), used when the page has none."""
    feed_published_from: str = "feed"
    """Where ``feed_published`` came from: ``feed`` or ``sitemap``."""
    expected_language: str | None = None
    """Language the registry expects of the source (a hint, reported on mismatch)."""
    source_domains: tuple[str, ...] = ()
    """Host names of the page's source: a canonical URL elsewhere is not believed (it could name another source's article)."""
    etag: str | None = None
    """The response's ETag, kept in the dedupe state for a conditional re-fetch."""
    last_modified: str | None = None
    """The response's Last-Modified, kept likewise."""
    recheck: bool = False
    """The page is a deliberate re-fetch of a stored article (its feed or sitemap date is newer, or
    ``AUTONEWS_RECHECK_DAYS``): a changed text becomes the article's next version."""
    warc: WarcOrigin | None = None
    """The WARC record the page was read from (``autonews backfill``); None for a fetched page."""


@dataclass(slots=True)
class ExtractedPage:
    """What ``extract_article`` finds in one page: the record's content fields, the date's origin and
    page-type flags, plus hints for later stages (declared languages, canonical, AMP canonical)."""

    title: str | None
    authors: list[str]
    published: str | None
    published_from: str | None
    """Where ``published`` came from: ``jsonld``, ``meta``, ``htmldate``, ``dateline`` or ``url`` (None: no date)."""
    modified: str | None
    description: str | None
    site_name: str | None
    image: str | None
    tags: list[str]
    text: str
    flags: list[str]
    """Page types found in the page: ``paywalled``, ``live_blog`` (``pipelines.extract.pagetype``)."""
    amp_canonical: str | None
    """The rel=canonical of an AMP page (``<html amp>``): the URL the article is recorded under."""
    declared_languages: list[str]
    """Languages the page declares about itself (``<html lang>``, og:locale, content-language meta)."""
    canonical_hint: str | None
    """The page's absolute rel=canonical / og:url, which deduplication may honour."""
    bounded: tuple[str, ...] = ()
    """Bounds extraction applied to keep the page's cost linear (``inline_flood``: see
    ``pipelines.extract.bounds``); counted as ``autonews/bounded/<name>``, not part of the record."""


@dataclass(frozen=True, slots=True)
class LanguageOptions:
    """The language stage's settings for ``detect_languages`` (``AUTONEWS_LANGUAGE_*``, ``AUTONEWS_MIXED_LANGUAGE_SHARE``)."""

    min_paragraph_chars: int
    char_budget: int
    mixed_share: float


@dataclass(slots=True)
class TextAnalysis:
    """What the extraction stage's pool task already computed from an article's text, title and declared
    languages for the later stages (``pipelines.analysis``), so that a page costs one pool round trip.

    A stage uses its part when it is there and computes it itself otherwise.
    """

    language: LanguageResult | None = None
    """``detect_languages`` of the article, run with ``language_options``."""
    language_options: LanguageOptions | None = None
    """The language stage's options ``language`` was computed with (another stage's options: not used)."""
    fingerprint: str | None = None
    """``neardup.text_fingerprint(text)``; None: the dedupe keys were not computed."""
    signature_hashes: bytes | None = None
    """``neardup.signature_hashes(text)`` when ``fingerprint`` is set (None then: a text too short to sign):
    the shingle hashes, which are most of the signature's cost; ``neardup.signature_from_hashes`` finishes it."""


@dataclass(slots=True)
class Article:
    """An extracted article on its way from extraction to storage.

    Extraction fills the page and content fields, language detection ``language``,
    ``languages``, ``flags`` and ``route``, deduplication ``canonical_url``, ``fingerprint``,
    ``duplicate_of``, ``version`` and ``previous_fingerprint``. The public record is built from it by ``pipelines.record``.
    """

    url: str
    request_url: str
    source: str
    fetched_at: str
    title: str | None
    authors: list[str]
    published: str | None
    modified: str | None
    description: str | None
    site_name: str | None
    image: str | None
    tags: list[str]
    text: str
    published_from: str | None = None
    """Where ``published`` came from (``pipelines.extract.dates.PUBLISHED_FROM``), None without a date."""
    declared_languages: tuple[str, ...] = ()
    """Page and Content-Language declarations together, normalised, in that order."""
    canonical_hint: str | None = None
    source_domains: tuple[str, ...] = ()
    """The source's host names (from the page item): where ``canonical_hint`` may point."""
    expected_language: str | None = None
    language: str | None = None
    languages: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    route: str = ""
    """Where storage files the record: "" for ``articles/``, ``non-english`` for ``articles-non-english/``."""
    canonical_url: str | None = None
    fingerprint: str | None = None
    duplicate_of: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    recheck: bool = False
    """Copied from the page: deduplication may record a changed text as a new version."""
    version: int = 1
    previous_fingerprint: str | None = None
    warc: WarcOrigin | None = None
    """Copied from the page: the WARC record a backfilled article was read from."""
    analysis: TextAnalysis | None = None
    """Language result and dedupe keys computed with the extraction (not part of the record)."""
