"""The public article record: built from an ``Article``, in schema order; the schema itself; validation.

The schema, ``pipelines/article.schema.json``, is the contract with downstream readers.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipelines.items import Article
from pipelines.sanitize import clean_value
from pipelines.stats import count_error

SCHEMA_PATH = Path(__file__).resolve().parent / "article.schema.json"
SCHEMA_VERSION = 4
"""2: ``version`` and ``previous_fingerprint`` (updated articles are written again as new versions).
3: ``published_from`` (where the date came from); flags ``paywalled`` and ``live_blog``.
4: ``warc`` (the WARC record a backfilled article was read from; null for crawled articles)."""


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """Return the record's JSON Schema (crawler/article.schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def record_fields() -> list[str]:
    """Return the record's field names in schema order."""
    return list(load_schema()["properties"])


_LIST_FIELDS = {"authors", "tags", "flags"}


def build_record(article: Article) -> dict[str, Any]:
    """Return the public record of a processed article: schema fields only, in order.

    Working fields (hints, routing) are left out; ``duplicate_of`` only appears when set,
    so every other line has the same shape.
    """
    record: dict[str, Any] = {}
    for name in record_fields():
        if name == "duplicate_of":
            if article.duplicate_of:
                record[name] = article.duplicate_of
            continue
        value = getattr(article, name, None)
        if name in _LIST_FIELDS:
            value = list(dict.fromkeys(value or []))
        elif name == "languages":
            value = dict(value or {})
        elif name == "warc":
            value = asdict(value) if value is not None else None
        elif name == "schema_version":
            value = SCHEMA_VERSION
        record[name] = clean_value(value)
    return record


class RecordError(ValueError):
    """A record that cannot be written: it violates the schema or cannot be encoded."""


@lru_cache(maxsize=1)
def _validator() -> Any:
    # imported here: a crawl that never builds a record (seeding) need not load jsonschema
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(load_schema(), format_checker=FormatChecker())


def prepare_validator() -> None:
    """Load jsonschema and build the schema's validator now rather than at the first record."""
    _validator()


def validation_errors(record: dict[str, Any]) -> list[str]:
    """Return the schema violations of a record (empty when valid)."""
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in _validator().iter_errors(record)]


def record_line(record: dict[str, Any]) -> str:
    """Return the record as one JSON line (no newline), checked against the schema and encodable as UTF-8.

    Raises RecordError otherwise, before anything is written: the caller can then give the
    article back (not seen, so it is fetched again next run) instead of losing it.
    """
    errors = validation_errors(record)
    if errors:
        raise RecordError("; ".join(errors[:3]))
    try:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        line.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise RecordError(f"cannot encode the record: {exc}") from None
    return line


class RecordPipeline:
    """Replace the article with its public record: the last stage of ``autonews scrape``, whose
    records go to a Scrapy feed export rather than to sealed storage (which builds them itself).

    Only records that can be written pass (``record_line``); they are counted as
    ``autonews/written``, which is what ``scrape`` reports.
    """

    def __init__(self, stats: Any = None) -> None:
        """Count into ``stats`` (a Scrapy stats collector), if given."""
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecordPipeline:
        """Build the pipeline with the crawl's stats."""
        return cls(crawler.stats)

    def process_item(self, item: Article) -> dict[str, Any]:
        """Return the schema-shaped record of the article; drop (and count) one that cannot be written."""
        # imported here: Scrapy's exceptions only matter inside a crawl, and records are built outside one too
        from scrapy.exceptions import DropItem

        record = build_record(item)
        try:
            record_line(record)
        except RecordError as exc:
            count_error(self.stats, "record", item.source)
            raise DropItem(f"unwritable record ({exc}): {item.url}") from None
        if self.stats is not None:
            self.stats.inc_value("autonews/written")
        return record


def markdown_table() -> str:
    """Return the README's record table, generated from the schema."""
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, spec in load_schema()["properties"].items():
        kind = spec.get("type", "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        rows.append(f"| `{name}` | {kind} | {spec['description']} |")
    return "\n".join(rows)
