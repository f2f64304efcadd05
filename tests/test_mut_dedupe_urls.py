"""URL canonicalisation and canonical-hint ownership edges (pipelines.dedupe.urls), found by the mutation run.

User info must survive canonicalisation (two accounts' URLs are two keys); an empty host must stay empty;
and ownership of a canonical hint compares hosts without ``www.``, a trailing dot or case, never letting a
page vouch for a host it does not own.
"""

from __future__ import annotations

import pytest

from pipelines.dedupe.urls import canonicalize_url, choose_canonical, same_owner


@pytest.mark.parametrize(("url", "expected"), [
    ("https://User:PW@A.Example:8443/x?utm_source=a", "https://User:PW@a.example:8443/x"),
    ("https://user@a.example/x", "https://user@a.example/x"),  # a user name without password is kept too
    ("https://:pw@A.example/x", "https://:pw@a.example/x"),
    ("https://us@er:pw@a.example/x", "https://us%40er:pw@a.example/x"),
    ("HTTPS://A.example.:443/x", "https://a.example/x"),
])
def test_user_info_is_kept_and_the_host_normalised(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected


def test_a_url_without_host_gets_none() -> None:
    assert canonicalize_url("https:///news/a") == "https:///news/a"
    assert canonicalize_url("https:///news/a?b=2&a=1") == "https:///news/a?a=1&b=2"


@pytest.mark.parametrize(("hint", "page", "sources", "owned"), [
    ("a.example", "a.example", (), True),
    ("www.a.example", "a.example", (), True),  # www. is one owner with the bare name...
    ("a.example", "WWW.A.EXAMPLE", (), True),
    ("A.Example.", "a.example", (), True),  # ...and so are case and a trailing dot
    ("a.example", "www.a.example.", (), True),
    ("news.a.example", "a.example", (), True),  # a subdomain of the page's host
    ("news.a.example", "cdn.example", ("a.example",), True),  # or of one of the source's hosts
    ("www.news.a.example", "www.a.example", (), True),
    ("evil.example", "a.example", ("b.example",), False),
    ("xa.example", "a.example", (), False),  # a longer name is not a subdomain
    ("a.example.evil", "a.example", (), False),
    ("example", "a.example", (), False),  # a parent domain is not owned
    ("wwwa.example", "a.example", (), False),
    ("a.example", "", (), False),  # a page without host owns nothing
    ("a.example", "", ("",), False),
    ("", "", (), False),  # an empty host (no host) matches nothing, not even another empty one
    ("", "a.example", ("",), False),
    ("abcdnews.example", "wxyznews.example", (), False),  # only "www." is cut, never any four characters
    (".a.example", "a.example", (), True),
])
def test_same_owner(hint: str, page: str, sources: tuple[str, ...], owned: bool) -> None:
    assert same_owner(hint, page, sources) is owned


def test_www_prefix_is_stripped_once_and_only_as_a_prefix() -> None:
    # "www.www.a.example" minus one "www." is "www.a.example": a subdomain of a.example, so owned
    assert same_owner("www.www.a.example", "a.example", ())
    # "www2.a.example" keeps its name: not the bare "a.example" but a subdomain of it
    assert same_owner("www2.a.example", "a.example", ())
    assert not same_owner("a.example", "www2.a.example", ())
    # only the leading "www." goes: "w.a.example" must not become "a.example" (a 5-character cut would)
    assert not same_owner("w.b.example", "b.example.w", ())
    assert not same_owner("ww.a.example", "a.example.org", ())


def test_choose_canonical_honours_only_owned_hints() -> None:
    page = "https://www.a.example/2026/story?utm_source=x"
    assert choose_canonical(page, "https://a.example/story", ()) == "https://a.example/story"
    assert choose_canonical(page, "https://news.a.example./story", ()) == "https://news.a.example/story"
    assert choose_canonical(page, "https://b.example/story", ()) == "https://www.a.example/2026/story"
    assert choose_canonical(page, "https://b.example/story", ("b.example",)) == "https://b.example/story"
    assert choose_canonical(page, "https://b.example/story", None) == "https://b.example/story"
    assert choose_canonical(page, "/relative", ()) == "https://www.a.example/relative"
    assert choose_canonical(page, "mailto:x@a.example", ()) == "https://www.a.example/2026/story"
