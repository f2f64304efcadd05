"""What one run of one source measured, from its run-report entry.

Signals are ratios and medians of the run's *new* pages and written records, so they compare
across runs of different sizes; a share measured on fewer than ``min_sample`` pages or records
is None (not measured), never a false alarm from one odd article. Reports written before run
health existed lack some counters: those signals are None too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

#: Record fields whose coverage (share of written records that have them) is watched.
FIELDS = ("published", "authors", "title", "description", "image")


@dataclass(frozen=True)
class Signals:
    """One source's signals in one run (None: not measured in that run)."""

    new_entries: int | None = None  # article URLs not stored before, let through to download
    article_yield: float | None = None  # share of new article pages that became articles
    coverage: dict[str, float | None] = field(default_factory=dict)  # field -> share of written records
    text_length: float | None = None  # median characters of text of written records
    non_english: float | None = None  # share of articles flagged non-English
    discovery_ok: float | None = None  # share of feeds/sitemaps/section pages fetched and parsed
    discovery_pages: int | None = None  # feeds/sitemaps/section pages tried (fetched or failed)
    entries: int | None = None  # entries found in feeds/sitemaps, links found on section pages
    pages: int = 0  # new article pages fetched
    articles: int = 0  # articles out of them (written, duplicates, dropped as non-English)
    not_articles: int = 0  # new article pages that were not articles
    # Causes (README "Run health"): discovery failures and failed article fetches by error class,
    # and the hosts of the discovery failures (for hints such as AUTONEWS_PRIVATE_HOSTS).
    discovery_errors: dict[str, int] = field(default_factory=dict)
    discovery_hosts: dict[str, list[str]] = field(default_factory=dict)
    fetch_failed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the run report (shares rounded to 4 places)."""
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)
        return {"new_entries": self.new_entries, "article_yield": r(self.article_yield),
                "coverage": {k: r(v) for k, v in self.coverage.items()}, "text_length": r(self.text_length),
                "non_english": r(self.non_english), "discovery_ok": r(self.discovery_ok),
                "discovery_pages": self.discovery_pages, "entries": self.entries}


def _share(part: int, whole: int, min_sample: int) -> float | None:
    return part / whole if whole >= min_sample else None


def articles_of(entry: Mapping[str, Any]) -> int:
    """Articles a source's new pages gave: written, dropped as duplicates, dropped as non-English."""
    return int(entry.get("written", 0)) + int(entry.get("duplicates", 0)) + int(entry.get("non_english_dropped", 0))


def signals_of(entry: Mapping[str, Any], min_sample: int) -> Signals:
    """Return the signals of one run-report source entry (see ``crawler.extensions.report``)."""
    pages = int(entry.get("pages", 0))
    written = int(entry.get("written", 0))
    articles = articles_of(entry)
    fields = entry.get("fields")
    coverage = {f: _share(int(fields.get(f, 0)), written, min_sample) for f in FIELDS} if isinstance(fields, Mapping) else {}
    dropped = int(entry.get("non_english_dropped", 0))
    non_english = _share(int(entry.get("non_english", 0)) + dropped, written + dropped, min_sample)
    discovery = entry.get("discovery") if isinstance(entry.get("discovery"), Mapping) else None
    tried = ok = entries = None
    if discovery is not None:
        ok = int(discovery.get("ok", 0))
        tried = ok + int(discovery.get("failed", 0))
        entries = int(discovery.get("entries", 0))
    text = entry.get("text_length_median")
    hosts = entry.get("discovery_hosts") if isinstance(entry.get("discovery_hosts"), Mapping) else {}
    return Signals(
        new_entries=int(entry["new_entries"]) if "new_entries" in entry else None,
        article_yield=_share(articles, pages, min_sample),
        coverage=coverage,
        text_length=float(text) if text is not None and written >= min_sample else None,
        non_english=non_english,
        discovery_ok=(ok / tried) if tried else None,
        discovery_pages=tried,
        entries=entries,
        pages=pages,
        articles=articles,
        not_articles=int(entry.get("not_article", 0)),
        discovery_errors=_counts(entry.get("discovery_errors")),
        discovery_hosts={k: [h for h in v if isinstance(h, str)] for k, v in hosts.items() if isinstance(v, list)},
        fetch_failed=_counts(entry.get("fetch_failed")),
    )


def _counts(value: Any) -> dict[str, int]:
    """A ``{label: count}`` mapping of a report entry (absent from reports of earlier versions: empty)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
