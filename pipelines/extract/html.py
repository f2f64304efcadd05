"""Decoding raw response bytes and parsing them into one lxml tree.

Kept apart from extraction so the decoding rules (which byte sequences are HTML at all, which
charset wins) are testable on their own.
"""
from __future__ import annotations

import codecs
import re

from lxml.html import HtmlElement
from w3lib.encoding import resolve_encoding

from pipelines.extract.bounds import huge_tree_parsing

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# bytes that never occur in text documents (NUL, other C0 controls except tab/newlines/form feed, ESC)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_MAX_CONTROL_SHARE = 0.01
# Numeric references to C0 control characters (``&#1;``, ``&#x1F;``): no text holds them, and one
# is enough to make the XML-strict tree builder reject the whole page. Tab, LF and CR stay.
_CONTROL_REFERENCE = re.compile(r"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));")
# a declared legacy charset is still used when at most this share of characters is undecodable
_MAX_REPLACED_SHARE = 0.01


def _codec(label: str | None) -> str | None:
    """Return a Python codec name for a charset label as browsers read it, or None when unusable.

    WHATWG's mapping (via w3lib): latin-1 and ascii mean windows-1252, gb2312 and gbk mean
    gb18030, Shift_JIS means cp932 (the Windows extensions real pages use). UTF-7 is refused,
    and UTF-16/32 labels count only with a byte-order mark.
    """
    if not label:
        return None
    name = resolve_encoding(label.strip().strip("\"'"))
    if name is None or name.startswith(("utf-16", "utf-32")):
        return None
    return name


def looks_binary(body: bytes) -> bool:
    """True when the start of ``body`` holds control bytes that no HTML page contains."""
    head = body[:4096]
    if not head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls > _MAX_CONTROL_SHARE * len(head)


def decode_body(body: bytes | str, encoding: str | None = None) -> str | None:
    """Decode an HTTP body to text, or return None when it is not a text document.

    Order: byte-order mark (it wins over the header, as browsers do); UTF-8 when the body has
    non-ASCII bytes and is valid UTF-8 (legacy text almost never is, so a lying label loses);
    the HTTP charset, then <meta charset>, strictly, then with replacements if only a few bytes
    are corrupt; windows-1252, which accepts almost any byte; UTF-8 with replacements.
    """
    if isinstance(body, str):
        return body
    if not body or looks_binary(body):
        return None
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    if not body.isascii():
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    meta = _META_CHARSET.search(body[:4096])
    declared = [c for c in (_codec(encoding), _codec(meta.group(1).decode("ascii", "ignore")) if meta else None)
                if c is not None and c != "utf-8"]
    for codec in declared:
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    # A few corrupt bytes in a legacy multi-byte page: keep its charset rather than turn
    # the whole page into windows-1252 mojibake.
    for codec in declared:
        text = body.decode(codec, errors="replace")
        if text.count("\ufffd") <= _MAX_REPLACED_SHARE * len(text):
            return text
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("utf-8", errors="replace")


def parse_html(text: str) -> HtmlElement | None:
    """Parse decoded HTML into a tree (trafilatura's own loader, so its repairs apply); None if not HTML.

    References to control characters are dropped first: they are not text, and would be fatal. Parsed with
    ``huge_tree`` (``pipelines.extract.bounds``): the caller checks the depth.
    """
    if "<" not in text[:65536]:
        return None
    if "&#" in text:
        text = _CONTROL_REFERENCE.sub("", text)
    # imported here: the crawl process imports this module for looks_binary() and never parses a page, so
    # it need not load trafilatura (with courlan, htmldate and jusText, ~9 MB resident)
    from trafilatura.utils import load_html

    try:
        with huge_tree_parsing():  # a page nested deeper than libxml2's 256 levels keeps its text
            tree = load_html(text)
    except (TypeError, ValueError):
        return None
    if tree is None or not isinstance(tree, HtmlElement):
        return None
    return tree
