"""Which WARC records belong to the registry: by the host of ``WARC-Target-URI``, then allow/deny.

Most records of a CC-NEWS file are other sites' pages, so this runs on every record's header
before its body is read: a dict lookup per label of the host, no URL parsing unless a host matches.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from crawler.sources.registry import Source


def bare_host(host: str) -> str:
    """A host as compared here: lower case, no trailing dot, no leading ``www.``."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def url_host(url: str) -> str:
    """The host of an absolute URL, cheaply (no full parse): ``""`` when there is none."""
    _, sep, rest = url.partition("://")
    if not sep:
        return ""
    end = len(rest)
    for stop in "/?#":
        index = rest.find(stop)
        if index != -1 and index < end:
            end = index
    authority = rest[:end].rpartition("@")[2]
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    return authority.partition(":")[0]


class SourceMatcher:
    """Maps a page URL to the registry source it belongs to, or None."""

    def __init__(self, sources: list[Source]) -> None:
        """Index every enabled source by its hosts (feeds, sitemaps, start URLs, ``domains:``), ``www.`` ignored."""
        self.by_host: dict[str, list[Source]] = {}
        for source in sources:
            if not source.enabled:
                continue
            for host in source.domains():
                entries = self.by_host.setdefault(bare_host(host), [])
                if source not in entries:
                    entries.append(source)

    def match(self, url: str) -> Source | None:
        """The first source whose host (or a parent domain of the URL's host) it is and whose rules allow it."""
        host = bare_host(url_host(url))
        while host:
            for source in self.by_host.get(host, ()):
                if source.follows(url) and _valid(url):
                    return source
            _, dot, host = host.partition(".")
            if not dot:
                break
        return None


def _valid(url: str) -> bool:
    """Only http(s) URLs with a host make records (a WARC may hold dns: or other captures)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
