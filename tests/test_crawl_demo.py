"""End to end: ``autonews crawl --demo`` in a subprocess, as a new user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import check_manifest_matches_files, demo_manifest, free_demo_port, run_cli, sealed_records

ARTICLES = [e for e in demo_manifest() if e["kind"] == "article" and "?" not in e["path"]]
NOT_ARTICLES = [e["path"] for e in demo_manifest() if e["kind"] == "not_article"]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two demo crawls with the same state: the first writes, the second must not."""
    work = tmp_path_factory.mktemp("demo")
    port = free_demo_port()
    first = run_cli("crawl", "--demo", *port, cwd=work)
    files_after_first = sorted(p.name for p in (work / "output").rglob("*.jsonl"))
    records = sealed_records(work / "output")
    second = run_cli("crawl", "--demo", *port, cwd=work)
    return {"work": work, "first": first, "second": second, "records": records,
            "files_after_first": files_after_first}


def by_path(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Index records by the canonical URL's path (every demo site shares one host)."""
    return {urlsplit(r["canonical_url"]).path: r for r in records}


def test_first_crawl_succeeds_and_reports(crawl: dict[str, Any]) -> None:
    first = crawl["first"]
    assert first.returncode == 0, first.stderr
    assert "articles written: " in first.stderr
    assert first.stdout == ""  # records go to files, never to stdout


def test_first_crawl_every_source_new_or_ok(crawl: dict[str, Any]) -> None:
    first_report = json.loads(sorted((crawl["work"] / "output" / "runs").glob("*.json"))[0].read_text(encoding="utf-8"))
    statuses = {name: entry["health"]["status"] for name, entry in first_report["sources"].items()}
    assert set(statuses) == {"autowire", "evpulse", "evxl"}
    assert set(statuses.values()) <= {"new", "ok"}, first_report["sources"]
    assert first_report["health"]["status"] == "ok" and first_report["exit_status"] == 0
    assert len(crawl["first"].stderr.strip().splitlines()) == 2  # no health line: nothing is wrong


def test_only_sealed_files_remain(crawl: dict[str, Any]) -> None:
    output = crawl["work"] / "output"
    assert list(output.rglob("*.part")) == []
    sealed = [p for p in output.rglob("*.jsonl") if p != output / "manifest.jsonl"]  # the manifest lists them
    assert all(p.parent.parent.name in ("articles", "articles-non-english") for p in sealed)
    check_manifest_matches_files(output)
    assert crawl["files_after_first"], "no sealed file written"


def test_every_distinct_article_written_exactly_once(crawl: dict[str, Any]) -> None:
    records = crawl["records"]
    paths = [urlsplit(r["canonical_url"]).path for r in records]
    assert len(paths) == len(set(paths)), paths
    assert len({r["canonical_url"] for r in records}) == len(records)
    written = set(paths)
    syndicated = {e["path"] for e in ARTICLES if e["duplicate_of"]} | {e["duplicate_of"] for e in ARTICLES if e["duplicate_of"]}
    # The syndicated story is written once, whichever copy the crawl met first.
    assert len(written & syndicated) == 1, written & syndicated
    for entry in ARTICLES:
        if entry["path"] not in syndicated:
            assert entry["path"] in written, f"missing {entry['path']}"
    assert not written & set(NOT_ARTICLES)
    # The tracking alias is the same article: written once, under its clean canonical URL.
    assert not any("utm_" in r["canonical_url"] or "fbclid" in r["canonical_url"] for r in records)


def test_same_story_pairs_are_both_kept(crawl: dict[str, Any]) -> None:
    written = by_path(crawl["records"])
    for entry in ARTICLES:
        if entry["same_story_as"]:
            assert entry["path"] in written and entry["same_story_as"] in written


@pytest.mark.parametrize("entry", ARTICLES, ids=lambda e: e["path"].strip("/"))
def test_record_content_matches_the_page(crawl: dict[str, Any], entry: dict[str, Any]) -> None:
    record = by_path(crawl["records"]).get(entry["path"])
    if record is None:
        assert entry["duplicate_of"] or any(e["duplicate_of"] == entry["path"] for e in ARTICLES)
        return
    text = record["text"]
    for snippet in entry["must_contain"]:
        assert snippet in text, f"missing {snippet!r}"
    for snippet in entry["must_not_contain"]:
        assert snippet not in text, f"boilerplate leaked: {snippet!r}"
    assert record["source"] == entry["source"]
    if entry["authors"]:
        assert record["authors"] == entry["authors"]
    if entry["published"] is None:
        assert record["published"] is None
    else:
        assert (record["published"] or "").startswith(entry["published"])
    for flag in entry["flags_expected"]:
        assert flag in record["flags"], record["flags"]
    for flag in entry["flags_forbidden"]:
        assert flag not in record["flags"], record["flags"]


def test_second_crawl_writes_nothing_and_exits_zero(crawl: dict[str, Any]) -> None:
    second = crawl["second"]
    assert second.returncode == 0, second.stderr
    assert "articles written: 0" in second.stderr
    files = sorted(p.name for p in (crawl["work"] / "output").rglob("*.jsonl"))
    assert files == crawl["files_after_first"]
    # Stored articles are not even downloaded again.
    assert "duplicates skipped before download: 0" not in second.stderr


def test_unwritable_output_fails_with_status_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("crawl", "--demo", "--output", str(blocker / "out"), *free_demo_port(), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "not writable" in result.stderr


def test_bad_registry_names_entry_and_field(tmp_path: Path) -> None:
    registry = tmp_path / "bad.yaml"
    registry.write_text("sources:\n  - name: broken\n    feeds: ['ftp://example.invalid/feed']\n    language: en\n")
    result = run_cli("crawl", "--sources", str(registry), "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert "broken" in result.stderr and "feeds" in result.stderr
