"""``autonews scrape``: one-off URLs and local files to JSON Lines on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.demo.server import DemoServer
from pipelines.record import validation_errors
from tests.conftest import DEMO, run_cli

DUTCH = "/evxl/stellantis-leapmotor/"


def test_scrape_url_prints_exactly_one_valid_line(demo_server: DemoServer, tmp_path: Path) -> None:
    result = run_cli("scrape", demo_server.url(DUTCH), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    record = json.loads(lines[0])
    assert validation_errors(record) == []
    assert record["authors"] == ["Haye Kesteloo"]
    assert record["published"] is None
    assert record["source"] == "oneoff"
    assert "Geef een reactie" not in record["text"]
    assert not list(tmp_path.iterdir()), "scrape must not write output/ or state"


def test_scrape_local_file_and_output_option(tmp_path: Path) -> None:
    page = DEMO / "site" / "evpulse" / "2015" / "12" / "aston-martin-signs-deal-with-letv" / "index.html"
    out = tmp_path / "records.jsonl"
    result = run_cli("scrape", str(page), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    [record] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert validation_errors(record) == []
    assert "LeTV" in record["text"] and "replicative fading" not in record["text"]


def test_scrape_of_a_section_page_fails_cleanly(demo_server: DemoServer, tmp_path: Path) -> None:
    result = run_cli("scrape", demo_server.url("/evpulse/news/"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "0 of 1" in result.stderr


def test_scrape_rejects_a_missing_file(tmp_path: Path) -> None:
    result = run_cli("scrape", str(tmp_path / "nope.html"), cwd=tmp_path)
    assert result.returncode == 2
    assert "neither a URL nor an existing file" in result.stderr


def test_help_for_each_command(tmp_path: Path) -> None:
    for command in ("crawl", "scrape", "state"):
        result = run_cli(command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "usage: autonews" in result.stdout
