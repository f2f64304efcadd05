"""Which WARC records belong to the registry: by the host of ``WARC-Target-URI``, then allow/deny.

Most records of a CC-NEWS file are other sites' pages, so this runs on every record's header
before its body is read: a dict lookup per label of the host, no URL parsing unless a host matches.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.sources.registry import Source


def bare_host(host: str) -> str:
    """A host as compared here: lower case, no trailing dot, no leading ``www.``."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


# scheme://[userinfo@]host: one anchored match in C per record (bounded: linear, no backtracking blow-up)
_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://(?:[^/?#@]{0,256}@)?(\[[0-9A-Fa-f:.]{0,64}\]|[^/?#:@\[\]]{1,256})")


def url_host(url: str) -> str:
    """The host of an absolute URL, cheaply (no full parse): ``""`` when there is none."""
    match = _HOST.match(url)
    if match is None:
        return ""
    host = match.group(1)
    return host[1:-1] if host.startswith("[") else host


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
        host = url_host(url).lower().rstrip(".")
        by_host = self.by_host
        while host:
            if host in by_host or host.startswith("www."):
                break
            _, dot, host = host.partition(".")
            if not dot:
                return None
        host = bare_host(host)
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
