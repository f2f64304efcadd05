"""Source registry: a YAML list of news sites and how to discover their articles.

The registry is validated strictly on load so that a typo in a scheduled crawl's
configuration fails loudly at start-up instead of silently crawling nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_SOURCES: Path = Path(__file__).with_name("sources.yaml")

_NAME_RE = re.compile(r"[a-z0-9_-]+")
_LANG_RE = re.compile(r"[a-z]{2}")
# A host name as urlsplit().hostname gives it: lower-case ASCII labels (IDNs in their
# xn-- form), dot-separated, no scheme, port, path, wildcard or trailing dot.
_HOST_RE = re.compile(r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_LIST_FIELDS = ("feeds", "sitemaps", "start_urls", "allow", "deny", "domains")
_URL_FIELDS = ("feeds", "sitemaps", "start_urls")
_KNOWN_FIELDS = frozenset(
    ("name", "language", "download_delay", "max_depth", "enabled") + _LIST_FIELDS
)


class SourceError(ValueError):
    """Invalid registry file, invalid entry or unknown source name."""


@dataclass(frozen=True)
class Source:
    """One registry entry: where to find a site's articles and how to crawl it."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    language: str | None = None
    download_delay: float | None = None
    max_depth: int = 1
    enabled: bool = True
    #: The registry's ``domains:``: hosts besides those of the URLs above whose pages are the source's own.
    extra_domains: tuple[str, ...] = ()
    _hosts: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _allow_re: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)
    _deny_re: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen dataclass: compiled patterns and the host list are derived state, so set them once here.
        object.__setattr__(self, "_allow_re", tuple(re.compile(p) for p in self.allow))
        object.__setattr__(self, "_deny_re", tuple(re.compile(p) for p in self.deny))
        hosts: dict[str, None] = {}
        for url in (*self.feeds, *self.sitemaps, *self.start_urls):
            host = urlsplit(url).hostname
            if host:
                hosts.setdefault(host, None)
        for host in self.extra_domains:
            hosts.setdefault(host, None)
        object.__setattr__(self, "_hosts", tuple(hosts))

    def follows(self, url: str) -> bool:
        """True if a link found on a section page should be followed.

        A URL is followed when it matches at least one `allow` pattern (or there
        are none) and no `deny` pattern; patterns are searched, not anchored, in
        the absolute URL (as Scrapy's LinkExtractor allow/deny do). This is the
        news spider's link filter; hosts are checked apart (see `on_domain`).
        """
        if any(p.search(url) for p in self._deny_re):
            return False
        return not self._allow_re or any(p.search(url) for p in self._allow_re)

    def domains(self) -> tuple[str, ...]:
        """Host names of all feed, sitemap and start URLs, then the registry's ``domains:``, in first-seen order."""
        return self._hosts

    def on_domain(self, url: str) -> bool:
        """True if `url`'s host is one of `domains` or a subdomain of one (any port, any scheme).

        The rule for every URL discovery turns into a request: feed and sitemap
        entries, child sitemaps, links on section pages. Like the sitemap protocol's
        own, it keeps a source's documents from sending the crawl to other sites.
        """
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:  # e.g. an invalid IPv6 literal
            return False
        return any(host == d or host.endswith("." + d) for d in self._hosts)


def load_sources(
    path: str | Path = DEFAULT_SOURCES,
    names: Sequence[str] = (),
    substitutions: Mapping[str, str] | None = None,
) -> list[Source]:
    """Load and validate a registry file; return the selected sources in file order.

    `substitutions` replaces placeholders (e.g. "{{BASE}}") in the raw text before
    YAML parsing. Without `names`, enabled sources are returned; with `names`,
    exactly those sources are returned (an explicit request overrides
    `enabled: false`), and an unknown name raises SourceError listing known ones.
    """
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{label}: cannot read registry: {exc}") from exc
    for placeholder, value in (substitutions or {}).items():
        text = text.replace(placeholder, value)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{label}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"sources"}:
        raise SourceError(f"{label}: expected a mapping with the single key 'sources'")
    raw_entries = data["sources"]
    if not isinstance(raw_entries, list) or not raw_entries:
        raise SourceError(f"{label}: 'sources' must be a non-empty list")

    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_entries, start=1):
        source = _parse_entry(raw, label, index)
        if source.name in seen:
            raise SourceError(f"{label}: entry '{source.name}' (#{index}): field 'name': duplicate name")
        seen.add(source.name)
        sources.append(source)

    if not names:
        return [s for s in sources if s.enabled]
    by_name = {s.name: s for s in sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SourceError(
            f"{label}: unknown source(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(by_name))}"
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def _parse_entry(raw: Any, label: str, index: int) -> Source:
    """Validate one raw YAML entry (1-based `index`) of the registry file `label`."""
    if not isinstance(raw, dict):
        raise SourceError(f"{label}: entry #{index}: expected a mapping, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SourceError(
            f"{label}: entry #{index}: field 'name': {name!r} must be a string matching [a-z0-9_-]+"
        )
    where = f"{label}: entry '{name}' (#{index})"

    def fail(key: str, message: str) -> SourceError:
        return SourceError(f"{where}: field '{key}': {message}")

    unknown = sorted(set(map(str, raw)) - _KNOWN_FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field (allowed: {', '.join(sorted(_KNOWN_FIELDS))})")

    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_FIELDS:
        value = raw.get(key)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(key, "must be a list of non-empty strings")
        lists[key] = tuple(value)
    for key in _URL_FIELDS:
        for url in lists[key]:
            if "{{" in url:
                raise fail(key, f"{url!r} has an unresolved placeholder")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise fail(key, f"{url!r} is not an http(s) URL")
    for host in lists["domains"]:
        if not _HOST_RE.fullmatch(host):
            raise fail("domains", f"{host!r} is not a host name (lower-case, like 'example.com': "
                                  "no scheme, port, path or wildcard; subdomains are included anyway)")
    if not (lists["feeds"] or lists["sitemaps"] or lists["start_urls"]):
        raise fail("feeds", "at least one of feeds, sitemaps, start_urls is required")
    for key in ("allow", "deny"):
        for pattern in lists[key]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise fail(key, f"{pattern!r} is not a valid regex: {exc}") from exc

    language = raw.get("language")
    if language is not None and not (isinstance(language, str) and _LANG_RE.fullmatch(language)):
        raise fail("language", f"{language!r} is not an ISO 639-1 code (two lower-case letters)")
    delay = raw.get("download_delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0):
        raise fail("download_delay", f"{delay!r} must be a number >= 0")
    depth = raw.get("max_depth", 1)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise fail("max_depth", f"{depth!r} must be an integer >= 0")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", f"{enabled!r} must be true or false")

    domains = lists.pop("domains")
    return Source(
        name=name,
        language=language,
        download_delay=None if delay is None else float(delay),
        max_depth=depth,
        enabled=enabled,
        extra_domains=domains,
        **lists,
    )
