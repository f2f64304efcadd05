"""Decoding raw response bytes and parsing them into one lxml tree.

Kept apart from extraction so the decoding rules (which byte sequences are HTML at all, which
charset wins) are testable on their own.
"""
from __future__ import annotations

import codecs
import re

from lxml.html import HtmlElement
from trafilatura.utils import load_html

# WHATWG maps these labels to windows-1252; real pages labelled latin-1 routinely use 0x80-0x9f
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "iso8859-1": "cp1252", "l1": "cp1252"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# bytes that never occur in text documents (NUL, other C0 controls except tab/newlines/form feed, ESC)
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_MAX_CONTROL_SHARE = 0.01


def _codec(label: str | None) -> str | None:
    """Return a Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def looks_binary(body: bytes) -> bool:
    """True when the start of ``body`` holds control bytes that no HTML page contains."""
    head = body[:4096]
    if not head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls > _MAX_CONTROL_SHARE * len(head)


def decode_body(body: bytes | str, encoding: str | None = None) -> str | None:
    """Decode an HTTP body to text, or return None when it is not a text document.

    Order: byte-order mark (it wins over the header, as browsers do), HTTP charset, <meta charset>,
    UTF-8, then windows-1252 which accepts any byte sequence.
    """
    if isinstance(body, str):
        return body
    if not body or looks_binary(body):
        return None
    candidates: list[str | None] = [name for bom, name in _BOMS if body.startswith(bom)]
    meta = _META_CHARSET.search(body[:4096])
    candidates += [_codec(encoding), _codec(meta.group(1).decode("ascii", "ignore")) if meta else None,
                   "utf-8", "cp1252"]
    for codec in candidates:
        if codec is None:
            continue
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


def parse_html(text: str) -> HtmlElement | None:
    """Parse decoded HTML into a tree (trafilatura's own loader, so its repairs apply); None if not HTML."""
    if "<" not in text[:65536]:
        return None
    try:
        tree = load_html(text)
    except (TypeError, ValueError):
        return None
    if tree is None or not isinstance(tree, HtmlElement):
        return None
    return tree
