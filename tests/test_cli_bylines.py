"""Bylines through the real CLI, as a new user scrapes a saved page (issue 23, point 6)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.record import validation_errors
from tests.conftest import REPO, run_cli

PAGES = REPO / "tests" / "fixtures" / "pages"


def test_scrape_reads_visible_bylines_and_keeps_them_out_of_the_text(tmp_path: Path) -> None:
    files = [PAGES / "byline_posted_on_by.html", PAGES / "byline_french_par.html", PAGES / "site_name_not_headline.html"]
    result = run_cli("scrape", *map(str, files), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [validation_errors(r) for r in records] == [[], [], []]
    by_title = {r["title"]: r for r in records}
    posted = by_title["Council approves cycling plan"]
    assert posted["authors"] == ["Sam Whitaker"] and "Posted on" not in posted["text"]
    par = by_title["Le conseil adopte le plan vélo"]
    assert par["authors"] == ["Claire Dubois"]
    assert par["text"].startswith("Le conseil municipal a adopté") and "Par Claire Dubois" not in par["text"]
    flood = by_title["Hochwasser: Pegel am Rhein steigt weiter"]
    assert flood["site_name"] == "Rhein-Kurier"
