"""Extraction checks on real-world pages, as data: tests/fixtures/pages/<case>.html + <case>.json.

One parametrised test runs ``extract_article`` on every page and checks what its JSON expects
(format: tests/fixtures/pages/README.md). Adding a page means adding those two files.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.extract.article import extract_article

PAGES = Path(__file__).parent / "fixtures" / "pages"
KEYS = {"about", "url", "encoding", "article", "fields", "fields_ignore_case", "startswith", "endswith",
        "contains", "not_contains"}
# the hint keys of the former dict result, under the names ExtractedPage gives them
RENAMED = {"_declared_languages": "declared_languages", "_canonical": "canonical_hint"}


def cases() -> list[str]:
    """Case names: every page with its JSON (a lone .html or .json fails ``test_every_page_has_its_json``)."""
    return sorted(p.stem for p in PAGES.glob("*.html") if p.with_suffix(".json").is_file())


def as_fields(record: Any) -> dict[str, Any]:
    """``extract_article``'s result as a plain dict, whether it is a dataclass or (formerly) a dict."""
    if dataclasses.is_dataclass(record):
        return dataclasses.asdict(record)
    return {RENAMED.get(key, key): value for key, value in record.items()}


def lowered(value: Any) -> Any:
    """A string, or each string of a list, in lower case."""
    return [v.lower() for v in value] if isinstance(value, list) else value.lower()


def test_every_page_has_its_json() -> None:
    html, specs = {p.stem for p in PAGES.glob("*.html")}, {p.stem for p in PAGES.glob("*.json")}
    assert html == specs, f"pages without JSON: {sorted(html - specs)}, JSON without page: {sorted(specs - html)}"
    assert len(cases()) >= 6


@pytest.mark.parametrize("case", cases())
def test_page(case: str) -> None:
    spec = json.loads((PAGES / f"{case}.json").read_text(encoding="utf-8"))
    assert set(spec) <= KEYS, f"unknown keys in {case}.json: {sorted(set(spec) - KEYS)}"
    assert isinstance(spec.get("url"), str) and isinstance(spec.get("article"), bool), "url and article are required"
    record = extract_article((PAGES / f"{case}.html").read_bytes(), spec["url"], spec.get("encoding"))
    if not spec["article"]:
        assert record is None, f"{case} should not be an article"
        assert set(spec) <= {"about", "url", "encoding", "article"}, "a non-article page expects no fields"
        return
    assert record is not None, f"{case} should be an article"
    fields = as_fields(record)
    for name, expected in spec.get("fields", {}).items():
        assert name in fields, f"no field {name!r}"
        assert fields[name] == expected, name
    for name, expected in spec.get("fields_ignore_case", {}).items():
        assert fields[name] is not None and lowered(fields[name]) == lowered(expected), name
    for name, prefix in spec.get("startswith", {}).items():
        assert fields[name] is not None and fields[name].startswith(prefix), name
    for name, suffix in spec.get("endswith", {}).items():
        assert fields[name] is not None and fields[name].rstrip().endswith(suffix), name
    text = fields["text"]
    for snippet in spec.get("contains", []):
        assert snippet in text, snippet
    for snippet in spec.get("not_contains", []):
        assert snippet not in text, snippet
