"""Tests for the source registry (crawler/sources/registry.py and the shipped sources.yaml)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from scrapy.linkextractors import LinkExtractor

from crawler.sources.registry import DEFAULT_SOURCES, Source, SourceError, load_sources


def write(tmp_path: Path, text: str) -> Path:
    """Write a registry file named sources.yaml and return its path."""
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


VALID = """\
sources:
  - name: alpha
    feeds: ['https://alpha.example.com/feed/']
    language: en
  - name: beta
    sitemaps: ['https://beta.example.de/sitemap.xml.gz']
    language: de
    download_delay: 1.5
  - name: gamma
    start_urls: ['https://gamma.example.fr/actualite/']
    allow: ['/actualite/.+-\\d+\\.html$']
    deny: ['/actualite/video/']
    language: fr
    max_depth: 2
  - name: delta
    feeds: ['https://delta.example.com/rss']
    enabled: false
"""


def test_shipped_registry_loads_with_enough_real_sources() -> None:
    sources = _all_shipped()
    assert len(sources) >= 15
    assert len(load_sources()) >= 15, "enough sources are enabled by default"
    languages = {s.language for s in sources}
    assert {"de", "fr", "nl", "it"} <= languages
    assert sum(1 for s in sources if s.language != "en") >= 5
    assert all(s.language for s in sources), "every shipped entry declares its language"
    assert len({s.name for s in sources}) == len(sources)
    for source in sources:
        assert "example" not in " ".join(source.feeds + source.sitemaps + source.start_urls)
        if source.start_urls:
            assert source.allow, f"{source.name}: section pages need allow patterns"
    assert DEFAULT_SOURCES.name == "sources.yaml" and DEFAULT_SOURCES.parent.name == "sources"


def test_shipped_registry_has_a_comment_per_entry() -> None:
    lines = DEFAULT_SOURCES.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("- name:"):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above {line.strip()}"


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        ("automotive_news_europe",
         "https://europe.autonews.com/automakers/vw-management-works-council-divided-over-restructuring-report-says",
         True),
        ("automotive_news_europe", "https://europe.autonews.com/newsletters", False),
        ("autoweek_nl", "https://www.autoweek.nl/autonieuws/artikel/doorzaag-zaterdag-porsche-935-moby-dick/", True),
        ("autoweek_nl", "https://www.autoweek.nl/occasions/", False),
        ("auto_motor_und_sport",
         "https://www.auto-motor-und-sport.de/test/kosten-realverbrauch-hyundai-i30-kombi-1-5-t-gdi-n-line/", True),
        ("auto_motor_und_sport", "https://www.auto-motor-und-sport.de/bilder/bmw-x3-galerie-2024/", False),
    ],
)
def test_shipped_link_patterns(name: str, url: str, expected: bool) -> None:
    (source,) = load_sources(DEFAULT_SOURCES, names=[name])
    assert source.follows(url) is expected


def _all_shipped() -> list[Source]:
    """Shipped sources including disabled ones (explicit names override enabled)."""
    names = re.findall(r"^\s*- name: (\S+)", DEFAULT_SOURCES.read_text(encoding="utf-8"), re.MULTILINE)
    return load_sources(DEFAULT_SOURCES, names=names)


def test_load_valid_registry_fields_and_defaults(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, VALID))
    assert [s.name for s in sources] == ["alpha", "beta", "gamma"]  # delta is disabled
    alpha, beta, gamma = sources
    assert alpha.feeds == ("https://alpha.example.com/feed/",)
    assert alpha.max_depth == 1 and alpha.enabled is True and alpha.download_delay is None
    assert beta.download_delay == 1.5 and beta.language == "de"
    assert gamma.max_depth == 2
    assert gamma.domains() == ("gamma.example.fr",)


def test_names_select_in_requested_order_and_include_disabled(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    assert [s.name for s in load_sources(path, names=["delta", "alpha"])] == ["delta", "alpha"]
    assert load_sources(path, names=["delta"])[0].enabled is False


def test_unknown_source_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        load_sources(write(tmp_path, VALID), names=["alpha", "nope"])
    message = str(info.value)
    assert "'nope'" in message
    assert "known: alpha, beta, delta, gamma" in message


def test_follows_applies_allow_then_deny(tmp_path: Path) -> None:
    gamma = load_sources(write(tmp_path, VALID), names=["gamma"])[0]
    assert gamma.follows("https://gamma.example.fr/actualite/renault-5-123.html")
    assert not gamma.follows("https://gamma.example.fr/actualite/video/renault-5-124.html")
    assert not gamma.follows("https://gamma.example.fr/contact")
    no_patterns = Source(name="x", start_urls=("https://x.example.com/",))
    assert no_patterns.follows("https://x.example.com/anything")


def test_follows_agrees_with_link_extractor_allow_deny(tmp_path: Path) -> None:
    # The news spider filters section links with `follows` instead of LinkExtractor(allow=,
    # deny=): both search every pattern in the absolute URL, so the same links pass.
    sources = [*_all_shipped(), *load_sources(write(tmp_path, VALID), names=["alpha", "gamma"])]
    urls = [u for s in sources for u in (*s.start_urls, *s.feeds)] + [
        "https://gamma.example.fr/actualite/renault-5-123.html",
        "https://gamma.example.fr/actualite/video/renault-5-124.html",
        "https://gamma.example.fr/actualite/renault-5-123.html?utm=x",
    ]
    for source in sources:
        extractor = LinkExtractor(allow=source.allow, deny=source.deny)
        for url in urls:
            assert source.follows(url) is extractor.matches(url), (source.name, url)


def test_sources_are_hashable_and_compare_by_fields() -> None:
    a = Source(name="a", feeds=("https://a.example.com/feed",), allow=("/news/",))
    b = Source(name="a", feeds=("https://a.example.com/feed",), allow=("/news/",))
    assert a == b and hash(a) == hash(b)


def test_substitutions_replace_placeholders_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        sources:
          - name: demo
            feeds: ['{{BASE}}/feed.xml']
            start_urls: ['{{BASE}}/news/']
            allow: ['^{{BASE}}/news/']
            language: en
        """)
    (source,) = load_sources(path, substitutions={"{{BASE}}": "http://127.0.0.1:8765"})
    assert source.feeds == ("http://127.0.0.1:8765/feed.xml",)
    assert source.follows("http://127.0.0.1:8765/news/story")
    with pytest.raises(SourceError, match="field 'feeds': .*unresolved placeholder"):
        load_sources(path)


def test_error_message_names_file_entry_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        sources:
          - name: one
            feeds: ['https://one.example.com/feed']
          - name: two
            feeds: ['https://two.example.com/feed']
          - name: electrek
            feeds: ['ftp://x']
        """)
    with pytest.raises(SourceError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: entry 'electrek' (#3): field 'feeds': 'ftp://x' is not an http(s) URL"
    assert isinstance(info.value, ValueError)


FEED = "feeds: ['https://a.example.com/f']"
A1 = r"entry 'a' \(#1\): "


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: a, " + FEED + ", colour: red}", A1 + r"field 'colour': unknown field"),
        ("{name: a}", A1 + r"field 'feeds': at least one of feeds, sitemaps, start_urls"),
        ("{name: a, start_urls: ['https://a.example.com/'], allow: ['(unclosed']}",
         A1 + r"field 'allow': '\(unclosed' is not a valid regex"),
        ("{name: a, " + FEED + ", language: english}", A1 + r"field 'language': 'english' is not an ISO 639-1"),
        ("{name: a, " + FEED + ", language: EN}", A1 + r"field 'language'"),
        ("{name: a, " + FEED + ", download_delay: -1}", A1 + r"field 'download_delay': -1 must be a number >= 0"),
        ("{name: a, " + FEED + ", download_delay: fast}", A1 + r"field 'download_delay'"),
        ("{name: a, " + FEED + ", max_depth: 1.5}", A1 + r"field 'max_depth'"),
        ("{name: a, " + FEED + ", max_depth: true}", A1 + r"field 'max_depth'"),
        ("{name: a, " + FEED + ", enabled: 'yes please'}", A1 + r"field 'enabled'"),
        ("{name: a, feeds: 'https://a.example.com/f'}", A1 + r"field 'feeds': must be a list"),
        ("{name: a, sitemaps: ['https:///no-host']}",
         A1 + r"field 'sitemaps': 'https:///no-host' is not an http\(s\) URL"),
        ("{name: Bad Name, feeds: ['https://a.example.com/f']}", r"entry #1: field 'name': 'Bad Name'"),
        ("{feeds: ['https://a.example.com/f']}", r"entry #1: field 'name': None"),
        ("just a string", r"entry #1: expected a mapping"),
    ],
)
def test_invalid_entries_are_rejected(tmp_path: Path, entry: str, expected: str) -> None:
    path = write(tmp_path, f"sources:\n  - {entry}\n")
    with pytest.raises(SourceError, match=rf"^{re.escape(str(path))}: {expected}"):
        load_sources(path)


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        sources:
          - {name: a, feeds: ['https://a.example.com/f']}
          - {name: a, feeds: ['https://b.example.com/f']}
        """)
    with pytest.raises(SourceError, match=r"entry 'a' \(#2\): field 'name': duplicate name"):
        load_sources(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: [unclosed", "invalid YAML"),
        ("", "expected a mapping with the single key 'sources'"),
        ("- name: a\n", "expected a mapping with the single key 'sources'"),
        ("sources: []\n", "'sources' must be a non-empty list"),
        ("sources:\n  - {name: a, feeds: ['https://a.example.com/f']}\nextra: 1\n", "single key 'sources'"),
    ],
)
def test_invalid_files_are_rejected(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SourceError, match=re.escape(expected)):
        load_sources(write(tmp_path, text))


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read registry"):
        load_sources(tmp_path / "absent.yaml")
