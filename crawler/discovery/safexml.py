"""Hostile-input-safe decoding of feed and sitemap bodies: gunzip with a cap, safe XML.

Feeds and sitemaps come from servers we do not control, so every body is treated
as potentially malicious: gzip bombs, truncated downloads, billion-laughs entity
expansion and XXE (external entities reading local files or the network).
Documents are streamed (`scan_xml`), never built whole: a sitemap of a million tiny
entries fits in the size cap and would take more than half a gigabyte as a tree.
"""

from __future__ import annotations

import codecs
import html.entities
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import TypeVar

from lxml import etree

from crawler.discovery.gzipsafe import GZIP_MAGIC, GzipError, inflate

MAX_SIZE = 50 * 1024 * 1024  # the sitemap protocol's own limit for uncompressed files
# Bytes handed to the streaming parser at a time: at most a few thousand elements are
# built before they are dropped again.
_FEED_CHUNK = 64 * 1024
# Elements one feed item or sitemap entry may hold (an Atom entry may carry a whole article
# as XHTML: a few thousand): an entry is kept whole until read, so this bounds its memory.
MAX_ENTRY_ELEMENTS = 100_000
T = TypeVar("T")
# A document type declaration, with its internal subset, in the prolog. Feeds and
# sitemaps never need one; dropping it removes entity definitions before the parser
# sees them, so undefined references are simply skipped and the rest is salvaged.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
_FIRST_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")
# One item of the prolog: a comment, a processing instruction (<?xml ...?>) or the DOCTYPE.
_PROLOG_ITEM_RE = re.compile(
    rb"\s*(?:<!--.*?-->|<\?.*?\?>|(?P<doctype><!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>))", re.DOTALL | re.IGNORECASE
)
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


def scan_xml(data: bytes, base_url: str, tags: Sequence[str],
             consume: Callable[[Iterator[etree._Element]], T]) -> tuple[etree._Element, T]:
    """Stream untrusted XML safely into `consume`; salvage malformed documents; DiscoveryError if hopeless.

    `consume` is given the elements matching `tags` (``"{*}url"``: local names, any
    namespace), whole, in document order of their end tags, and returns its result.
    Elements are dropped from the tree once read, so memory stays flat however many
    elements a document has (a whole tree of a 50 MB sitemap takes about 600 MB); open
    ancestors are kept, so ``element.base`` (xml:base) and ``getroottree().getroot()``
    still work. Returns the root element (emptied of what was read) and the result.
    An entry of more than `MAX_ENTRY_ELEMENTS` elements is refused (DiscoveryError).

    No DTD is loaded, no entity is expanded, nothing is fetched, and libxml2's
    huge-document limits stay on. A well-formed document is read as is; only if that
    fails are its "&" fixed (see `_fix_references`) and the document read again, by a
    fresh `consume`, in libxml2's recovery mode.
    """
    data = data.lstrip(b" \t\r\n").removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    data = _strip_doctype(data)
    try:
        return _scan(_slices(data), base_url, tags, consume, recover=False)
    except etree.XMLSyntaxError:
        pass
    try:
        return _scan(map(_fix_references, _slices(data)), base_url, tags, consume, recover=True)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"unparseable XML from {base_url}: {exc}") from exc


def _slices(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of about `_FEED_CHUNK` bytes, never cutting an entity reference.

    A piece ends before the last "&" of its final 256 bytes (a reference such as
    "&name;" is far shorter and holds one "&"), so `_fix_references` can work piece by
    piece: on the whole of a hostile document it would build millions of small objects.
    """
    start, size = 0, len(data)
    while start < size:
        end = min(start + _FEED_CHUNK, size)
        if end < size:
            amp = data.rfind(b"&", end - 256, end)
            if amp > start:
                end = amp
        yield data[start:end]
        start = end


def _scan(chunks: Iterable[bytes], base_url: str, tags: Sequence[str],
          consume: Callable[[Iterator[etree._Element]], T], recover: bool) -> tuple[etree._Element, T]:
    """One streaming pass of `scan_xml`; XMLSyntaxError if the document is broken (strict mode)."""
    parser = etree.XMLPullParser(events=("end",), base_url=base_url, **_parser_options(recover))
    roots: list[etree._Element | None] = []
    stream = _stream(parser, chunks, frozenset(tag.rpartition("}")[2] for tag in tags), roots)
    result = consume(stream)
    for _ in stream:  # a consumer that stopped early: the rest must still parse (or fail) for a root
        pass
    root = roots[0] if roots else None
    if root is None:  # recovery found no element at all (the strict parser raises instead)
        raise DiscoveryError(f"unparseable XML from {base_url}: no root element")
    return root, result


def _stream(parser: etree.XMLPullParser, chunks: Iterable[bytes], names: frozenset[str],
            roots: list[etree._Element | None]) -> Iterator[etree._Element]:
    """Feed `chunks` to `parser`; yield each element named in `names` at its end tag.

    After every chunk, what has been read is dropped from the tree (`_prune`), so
    neither 200,000 <url>s nor a million junk elements between them build up a tree.
    Events are drained after every chunk: fed in one piece, a document would be parsed
    whole before anything could be dropped. The root (None if there is none) is
    appended to `roots` once the document is closed.
    """
    streamed = _TagSet(names)
    root: etree._Element | None = None
    since_streamed = 0  # elements ended since the last streamed one: inside the open one, if any
    for chunk in chain(chunks, [None]):
        if chunk is None:
            roots.append(parser.close())  # ends what is still open (recovery mode): events follow
        else:
            parser.feed(chunk)
        for _event, element in parser.read_events():
            if streamed[element.tag]:
                since_streamed = 0
                yield element
            else:
                since_streamed += 1
            if root is None:
                root = element.getroottree().getroot()
        if root is not None and _prune(root, streamed) and since_streamed > MAX_ENTRY_ELEMENTS:
            raise DiscoveryError(f"an entry of more than {MAX_ENTRY_ELEMENTS} elements")


class _TagSet(dict[object, bool]):
    """tag -> whether its local name is one of `names`; computed once per distinct tag of a document."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names

    def __missing__(self, tag: object) -> bool:
        # Comments, PIs and entity references have a function as their tag: never streamed.
        found = self[tag] = isinstance(tag, str) and tag.rpartition("}")[2] in self.names
        return found


def _prune(root: etree._Element, streamed: _TagSet) -> bool:
    """Drop every element already read, down the path of open elements; True if a streamed one is open.

    Only the last child of each element can still be open (or be the one just
    ended), so all the others go, in one C-level slice deletion per level. Below an
    element that is streamed, nothing is dropped: it is open, or was the last read,
    and its reader needs all of it.
    """
    node = root
    while len(node):
        if streamed[node.tag]:
            return True
        if len(node) > 1:
            del node[:-1]
        node = node[-1]
    return streamed[node.tag]


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


def _parser_options(recover: bool) -> dict[str, bool]:
    """Options of a locked-down libxml2 parser (a fresh parser per document: they are not thread-safe)."""
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": False,
        "recover": recover,
        "remove_comments": True,
        "remove_pis": True,
    }


def _strip_doctype(data: bytes) -> bytes:
    """Remove a DOCTYPE declaration found before the root element.

    The prolog is walked first, past comments and processing instructions: a comment
    holding "<a>" before the DOCTYPE would otherwise pass for the root element and
    leave the DOCTYPE in place, and its entities could be referenced millions of
    times (each reference a node: gigabytes). Failing that, a DOCTYPE before anything
    that looks like an element is removed.
    """
    pos = 0
    while item := _PROLOG_ITEM_RE.match(data, pos):
        if item.lastgroup == "doctype":
            return data[: item.start("doctype")] + data[item.end() :]
        pos = item.end()
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
