"""Tests for URL canonicalisation (pipelines.dedupe.urls)."""

from __future__ import annotations

import pytest

from pipelines.dedupe.urls import TRACKING_PARAMS, canonicalize_url, choose_canonical, is_tracking_param, url_aliases

CASES = [
    # scheme and host lower-cased, path case kept
    ("HTTPS://WWW.Example.COM/News/Story", "https://www.example.com/News/Story"),
    # default ports dropped, other ports kept
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    # fragment dropped
    ("https://example.com/a#comments", "https://example.com/a"),
    # tracking parameters removed (names and prefixes, any case), rest sorted
    ("https://example.com/a?utm_source=tw&utm_medium=social&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?UTM_Campaign=x&b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?fbclid=IwAR&gclid=x&dclid=y&msclkid=z", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&_ga=3&igshid=4&yclid=5&ref_src=6&cmpid=7", "https://example.com/a"),
    ("https://example.com/a?page=2&fbclid=x#top", "https://example.com/a?page=2"),
    # content-selecting parameters survive
    ("https://example.com/article.php?cid=123&id=9", "https://example.com/article.php?cid=123&id=9"),
    # empty query removed, empty path becomes /
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    # percent-encoding normalised
    ("https://example.com/%7euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
    ("https://example.com/café?q=ä b", "https://example.com/caf%C3%A9?q=%C3%A4+b"),
    # blank values kept, repeated keys ordered
    ("https://example.com/a?b=&a=2&a=1", "https://example.com/a?a=1&a=2&b="),
    # trailing dot of the host removed
    ("https://example.com./a", "https://example.com/a"),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(("url", "_"), CASES)
def test_canonicalize_is_idempotent(url: str, _: str) -> None:
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


def test_tracking_list_is_documented_and_prefixes_match() -> None:
    assert {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "igshid", "yclid"} <= TRACKING_PARAMS
    assert is_tracking_param("utm_whatever")
    assert is_tracking_param("FBCLID")
    assert not is_tracking_param("id")


def test_choose_canonical_prefers_hint() -> None:
    url = "https://syndicator.example/story?id=1&utm_source=x"
    assert choose_canonical(url, "https://Publisher.example/original#x") == "https://publisher.example/original"
    assert choose_canonical(url, "/relative/path") == "https://syndicator.example/relative/path"
    assert choose_canonical(url, None) == "https://syndicator.example/story?id=1"
    assert choose_canonical(url, "") == "https://syndicator.example/story?id=1"
    assert choose_canonical(url, "javascript:void(0)") == "https://syndicator.example/story?id=1"
    assert choose_canonical(url, "mailto:x@example.com") == "https://syndicator.example/story?id=1"


def test_url_aliases_dedupes_and_skips_non_http() -> None:
    aliases = url_aliases("http://a.example/x?utm_source=1", "http://A.example/x", None, "ftp://a.example/x")
    assert aliases == ["http://a.example/x"]
