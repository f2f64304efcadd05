"""Opt-in checks against the real sites of the bundled registry: ``pytest -m live``.

Never run in CI (no internet there): they tell a maintainer which registry URLs still
answer with a parseable feed or sitemap.
"""

from __future__ import annotations

import urllib.request

import pytest

from crawler.discovery.sitemaps import parse_feed, parse_sitemap
from crawler.sources.registry import load_sources

SOURCES = load_sources()
UA = {"User-Agent": "autonews/0.1 (+https://github.com/autonews/autonews)"}


def fetch(url: str) -> bytes:
    """GET a URL with a short timeout."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=UA), timeout=20) as response:
        return response.read()


@pytest.mark.live
@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_registry_discovery_urls_answer(source) -> None:  # type: ignore[no-untyped-def]
    found = 0
    for url in source.feeds:
        found += len(parse_feed(fetch(url), url))
    for url in source.sitemaps:
        result = parse_sitemap(fetch(url), url)
        found += len(result.entries) + len(result.children)
    for url in source.start_urls:
        found += bool(fetch(url))
    assert found, f"{source.name}: no entries found"
