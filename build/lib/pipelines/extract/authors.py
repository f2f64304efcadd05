"""Turning raw bylines ("By Jane Doe and John Roe", "door Haye Kesteloo") into a list of names."""
from __future__ import annotations

import re
from collections.abc import Iterable

# byline words in the languages the registry covers; "by" may also be glued to a role ("Posted by")
_BY_ALWAYS = re.compile(r"^(?:(?:written|posted|reported|words|story|text|photos?)\s+by|by|author|text)\s*[:\-]?\s+",
                        re.I)
_SPLIT = re.compile(r"\s*(?:,|;|\||/|\s&\s|\sand\s|\sen\s|\sund\s|\set\s)\s*", re.I)
_EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|(?<!\S)@\w+", re.I)
_MAX_WORDS = 6
_MONTH_WORDS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}


def _strip_byline(piece: str) -> str:
    """Remove a leading byline word, keeping surname particles that are part of the name."""
    piece = _BY_ALWAYS.sub("", piece)
    match = re.match(r"^(door|par|von|de|di|por)\s+(\S+)(\s+\S+)?", piece, re.I)
    # strip the particle only when followed by a capitalised first name and a further word
    if match and match.group(2)[:1].isupper() and match.group(3):
        piece = piece[len(match.group(1)):].lstrip()
    return piece


def clean_authors(raw: Iterable[str | None]) -> list[str]:
    """Split, clean and de-duplicate author strings; drops e-mails, URLs, handles and non-names."""
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        if not value:
            continue
        value = _EMAIL_OR_URL.sub(" ", " ".join(value.split()))
        for piece in _SPLIT.split(_BY_ALWAYS.sub("", value.strip())):
            piece = _strip_byline(piece.strip()).strip(" \t-–—:,.·|()")
            piece = " ".join(piece.split())
            # names have letters, no figures, and are not a dateline's month ("DEC 21 2015 BY ...")
            if (not piece or not any(ch.isalpha() for ch in piece) or any(ch.isdigit() for ch in piece)
                    or len(piece.split()) > _MAX_WORDS or piece.lower().rstrip(".") in _MONTH_WORDS):
                continue
            if piece.lower() not in seen:
                seen.add(piece.lower())
                names.append(piece)
    return names
