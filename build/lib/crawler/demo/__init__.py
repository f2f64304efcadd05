"""Bundled offline demo site: a few auto-news "sites" served from one local server.

The pages wrap the shared seed texts in realistic markup (bylines, comment threads,
related-article cards, promos, footers) so the crawl and the extraction tests can
run without touching the internet. ``expected.json`` describes what a correct
pipeline should make of every page.
"""
from pathlib import Path

DEMO_DIR: Path = Path(__file__).resolve().parent
SITE_DIR: Path = DEMO_DIR / "site"
SOURCES_FILE: Path = DEMO_DIR / "sources.yaml"
EXPECTED_FILE: Path = DEMO_DIR / "expected.json"
BASE_PLACEHOLDER: str = "{{BASE}}"

__all__ = ["DEMO_DIR", "SITE_DIR", "SOURCES_FILE", "EXPECTED_FILE", "BASE_PLACEHOLDER"]
