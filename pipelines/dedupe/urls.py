"""URL canonicalisation for deduplication: one spelling per article URL.

Rules: scheme and host lower-cased, default port dropped, fragment dropped, tracking
parameters removed (``TRACKING_PARAMS`` by exact name, ``TRACKING_PREFIXES`` by
prefix, both case-insensitive), remaining query parameters sorted, empty query
removed. The path keeps its case; only its percent-encoding is normalised (by
``w3lib.url.canonicalize_url``, which Scrapy itself uses for request fingerprints).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # Ad and analytics click identifiers.
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
        "wbraid", "gbraid", "igshid", "igsh", "srsltid", "_ga", "_gl", "_hsenc", "_hsmi",
        "mc_cid", "mc_eid", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid",
        "rb_clickid", "s_cid", "s_kwcid", "ef_id", "zanpid", "_openstat", "__twitter_impression",
        # Campaign and referral labels that never select different content. Generic names
        # such as "cid", "src", "source" or "share" are left alone: some CMSs use them as
        # article ids, and a wrong removal would merge distinct articles.
        "cmpid", "ref_src", "ref_url", "ito", "itm_source", "itm_medium", "itm_campaign",
        "itm_content", "ncid", "sr_share", "spm", "ocid", "smid", "ns_mchannel", "ns_source", "ns_campaign",
        "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_custom1", "fb_action_ids",
        "fb_action_types", "fb_ref", "fb_source", "action_object_map", "action_type_map",
        "action_ref_map",
    }
)
"""Query parameters removed by exact (case-insensitive) name."""

TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "ga_", "trk_", "stm_")
"""Query parameters removed when their (case-insensitive) name starts with one of these."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """Return True when the query parameter ``name`` only tracks the visitor."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Return the canonical spelling of ``url`` used as its deduplication key.

    >>> canonicalize_url("HTTPS://Example.COM:443/News/A?utm_source=x&b=2&a=1#top")
    'https://example.com/News/A?a=1&b=2'
    """
    url = w3lib_canonicalize_url(url.strip(), keep_fragments=False)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # a malformed port is kept out of the key rather than crashing the crawl
        port = None
    netloc = host
    if parts.username or parts.password:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    query_items = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)
    ]
    query = urlencode(sorted(query_items), doseq=False) if query_items else ""
    if query:
        # Re-run w3lib so the re-encoded query uses the same percent-encoding as before.
        return w3lib_canonicalize_url(urlunsplit((scheme, netloc, parts.path or "/", query, "")))
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def is_http_url(url: str) -> bool:
    """Return True when ``url`` is an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _bare_host(host: str) -> str:
    """A host name compared for ownership: lower case, no trailing dot, no leading ``www.``."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_owner(hint_host: str, page_host: str, source_hosts: Iterable[str]) -> bool:
    """True when ``hint_host`` is the page's host or one of its source's hosts (or a subdomain of one).

    ``www.`` is ignored on both sides, so ``example.com`` and ``www.example.com`` are one owner.
    """
    hint = _bare_host(hint_host)
    for host in (page_host, *source_hosts):
        owned = _bare_host(host)
        if owned and (hint == owned or hint.endswith("." + owned)):
            return True
    return False


def choose_canonical(url: str, hint: str | None, source_hosts: Iterable[str] | None = None) -> str:
    """Return the canonical URL of an article fetched at ``url`` that declares ``hint``.

    ``hint`` (rel=canonical or og:url) is resolved against ``url`` and honoured when the result
    is an http(s) URL on the page's own host or one of ``source_hosts`` (the source's domains):
    a page cannot claim another source's article URL, which would store its text under the
    victim's URL and make the real article be skipped as seen. Syndicated copies are still
    recognised by their text. ``source_hosts=None`` trusts any host: for canonical URLs that
    this project computed itself (recovery of its own records).
    """
    if hint:
        resolved = urljoin(url, hint.strip())
        if is_http_url(resolved) and (
            source_hosts is None
            or same_owner(urlsplit(resolved).hostname or "", urlsplit(url).hostname or "", source_hosts)
        ):
            return canonicalize_url(resolved)
    return canonicalize_url(url)


def url_aliases(*urls: str | None) -> list[str]:
    """Return the distinct canonical forms of the given URLs (None and non-http entries skipped), in order."""
    seen: dict[str, None] = {}
    for url in urls:
        if url and is_http_url(url):
            seen.setdefault(canonicalize_url(url), None)
    return list(seen)

