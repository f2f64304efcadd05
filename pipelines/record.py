"""The public article record: built from an ``Article``, in schema order; the schema itself; validation.

The schema, ``pipelines/article.schema.json``, is the contract with downstream readers.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipelines.items import Article

SCHEMA_PATH = Path(__file__).resolve().parent / "article.schema.json"
SCHEMA_VERSION = 2
"""2: ``version`` and ``previous_fingerprint`` (updated articles are written again as new versions)."""


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
        elif name == "schema_version":
            value = SCHEMA_VERSION
        record[name] = value
    return record


def validation_errors(record: dict[str, Any]) -> list[str]:
    """Return the schema violations of a record (empty when valid)."""
    # imported here: only checks and tests validate records, and a crawl need not load jsonschema
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(load_schema(), format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in validator.iter_errors(record)]


class RecordPipeline:
    """Replace the article with its public record: the last stage of ``autonews scrape``, whose
    records go to a Scrapy feed export rather than to sealed storage (which builds them itself)."""

    def process_item(self, item: Article) -> dict[str, Any]:
        """Return the schema-shaped record of the article."""
        return build_record(item)


def markdown_table() -> str:
    """Return the README's record table, generated from the schema."""
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, spec in load_schema()["properties"].items():
        kind = spec.get("type", "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        rows.append(f"| `{name}` | {kind} | {spec['description']} |")
    return "\n".join(rows)
