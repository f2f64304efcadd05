"""Hostile-input-safe decoding of feed and sitemap bodies: gunzip with a cap, safe XML.

Feeds and sitemaps come from servers we do not control, so every body is treated
as potentially malicious: gzip bombs, truncated downloads, billion-laughs entity
expansion and XXE (external entities reading local files or the network).
"""

from __future__ import annotations

import codecs
import html.entities
import re

from lxml import etree

from crawler.discovery.gzipsafe import GZIP_MAGIC, GzipError, inflate

MAX_SIZE = 50 * 1024 * 1024  # the sitemap protocol's own limit for uncompressed files
# A document type declaration, with its internal subset, in the prolog. Feeds and
# sitemaps never need one; dropping it removes entity definitions before the parser
# sees them, so undefined references are simply skipped and the rest is salvaged.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
_FIRST_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")
_AMP_RE = re.compile(rb"&(#[0-9]+;|#x[0-9A-Fa-f]+;|([A-Za-z_][A-Za-z0-9_.-]{0,40});)?")
_XML_ENTITIES = frozenset((b"amp", b"lt", b"gt", b"quot", b"apos"))


class DiscoveryError(ValueError):
    """A feed, sitemap or robots.txt body could not be used at all."""


def read_body(body: bytes, max_size: int = MAX_SIZE) -> bytes:
    """Return the body, gunzipped if it starts with the gzip magic bytes.

    Raises DiscoveryError if the (decompressed) body exceeds `max_size` or the
    gzip stream is corrupt or truncated. Decompression is incremental, so a gzip
    bomb costs at most about `max_size` bytes of memory.
    """
    if body[:2] == GZIP_MAGIC:
        return _gunzip(body, max_size)
    if len(body) > max_size:
        raise DiscoveryError(f"body of {len(body)} bytes exceeds the {max_size}-byte limit")
    return body


def _gunzip(body: bytes, max_size: int) -> bytes:
    """Incrementally gunzip (possibly multi-member) `body`, never inflating past the cap."""
    out = bytearray()
    try:
        for chunk in inflate(body, max_size):
            out += chunk
    except GzipError as exc:  # too large, truncated or corrupt: the message says which
        raise DiscoveryError(str(exc)) from exc
    return bytes(out)


def parse_xml(data: bytes, base_url: str) -> etree._Element:
    """Parse untrusted XML safely; salvage malformed documents; DiscoveryError if hopeless.

    No DTD is loaded, no entity is expanded, nothing is fetched, and libxml2's
    huge-document limits stay on. A well-formed document is parsed as is; only if
    that fails are its "&" fixed (see `_fix_references`) and the document
    re-parsed with libxml2's recovery mode.
    """
    data = data.lstrip(b" \t\r\n").removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    data = _strip_doctype(data)
    try:
        return etree.fromstring(data, _parser(recover=False), base_url=base_url)
    except etree.XMLSyntaxError:
        pass
    try:
        root = etree.fromstring(_fix_references(data), _parser(recover=True), base_url=base_url)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"unparseable XML from {base_url}: {exc}") from exc
    if root is None:
        raise DiscoveryError(f"unparseable XML from {base_url}: no root element")
    return root


def _fix_references(data: bytes) -> bytes:
    """Make every "&" well-formed: the commonest feed bugs are bare "&" in URLs and
    HTML entities (&nbsp;) that XML does not define.

    Bare "&" becomes "&amp;", HTML entity names become numeric character
    references and unknown names become literal text, so the recovering parser
    sees no undefined entity (libxml2 drops text around those in recovery mode).
    """

    def replace(match: re.Match[bytes]) -> bytes:
        name = match.group(2)
        if match.group(1) is None:
            return b"&amp;"
        if name is None or name in _XML_ENTITIES:
            return match.group(0)
        char = html.entities.html5.get(name.decode("ascii") + ";")
        if char is None:
            return b"&amp;" + name + b";"
        return "".join(f"&#{ord(c)};" for c in char).encode("ascii")

    return _AMP_RE.sub(replace, data)


def _parser(recover: bool) -> etree.XMLParser:
    """A fresh (parsers are not thread-safe) locked-down XML parser."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )


def _strip_doctype(data: bytes) -> bytes:
    """Remove a DOCTYPE declaration found before the root element."""
    first = _FIRST_ELEMENT_RE.search(data)
    end = first.start() if first else len(data)
    match = _DOCTYPE_RE.search(data, 0, end)
    if match is None:
        return data
    return data[: match.start()] + data[match.end() :]


def local_name(element: etree._Element) -> str:
    """Tag name without namespace ('' for comments, entities and other non-elements)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(element: etree._Element) -> str:
    """Namespace URI of an element, '' if none."""
    tag = element.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def text_of(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text content, or None if empty.

    Undeclared entity references (kept as nodes because entities are never
    resolved) become their HTML character when they name one, e.g. &nbsp;.
    """
    if element is None:
        return None
    if len(element) == 0:  # fast path: a leaf, the usual case for <loc>, <link>, dates
        return " ".join((element.text or "").split()) or None
    parts: list[str] = [element.text or ""]
    for child in element:
        _collect(child, parts)
    text = " ".join("".join(parts).split())
    return text or None


def _collect(element: etree._Element, parts: list[str]) -> None:
    """Append the text of `element`, its descendants and its tail to `parts`."""
    if isinstance(element, etree._Entity):
        parts.append(html.entities.html5.get(f"{element.name};", ""))
    elif isinstance(element.tag, str):
        parts.append(element.text or "")
        for child in element:
            _collect(child, parts)
    if element.tail:
        parts.append(element.tail)
