"""Turning raw bylines ("By Jane Doe and John Roe", "door Haye Kesteloo") into a list of people.

Sources in order of trust: JSON-LD ``author``, ``<meta name=author>`` and kin, trafilatura's reading of
the page, then the visible byline. The first source that still names someone after cleaning wins: a
value that names the site or its publisher ("Deutsche Welle" on dw.com) is not an author, so a source
holding only that gives way to the next one.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from typing import Any

# byline words in the languages of the registry and the benchmark sets; "by" may be glued to a role ("Posted by")
_BY_ALWAYS = re.compile(r"^(?:(?:zeige\s+|view\s+)?(?:alle\s+|all\s+)?(?:beiträge|artikel|posts|articles)\s+(?:von|by)"
                        r"|(?:written|posted|reported|words|story|text|photos?|interview)\s+by|by|author|autor(?:in)?|interview"
                        r"|auteur|text|texte|redaktion|verfasst von|geschrieben von|ein (?:beitrag|artikel) von"
                        r"|reportage|przez|autorstwa|skrevet af|skrevet av)\s*[:\-]?\s+", re.I)
# conjunctions between co-authors: and, und, et, y, e, og, en, i, &, plus list punctuation
_SPLIT = re.compile(r"\s*(?:,|;|\||/|·|\s&\s|\s(?:and|und|et|y|e|og|en|i|och|ja|és|a|oraz|u)\s)\s*", re.I)
_EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|(?<!\S)@\w+|\S+\.(?:com|net|org|de|fr|it|es|uk)\b", re.I)
# a parenthesised initials code or role, closed or cut ("Elena Oberholzer (obe", "Jane Roe (AFP)")
_PAREN = re.compile(r"\s*[(\[][^)\]]*(?:[)\]]|$)")
_MAX_WORDS = 6
_DOMAIN_TAIL = re.compile(r"\s(?:de|com|ch|at|net|org|fr|it|es|nl|be|uk|co|info|eu)$", re.I)
_SAYS = {"says", "sagt", "schreibt", "dit", "dice", "zegt", "wrote", "writes"}
_MONTH_WORDS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
# words that are a role or a desk, not a person: a piece made only of them is dropped
_ROLE_WORDS = {"staff", "writer", "reporter", "editor", "editors", "correspondent", "redaktion", "redakteur",
               "redakteurin", "korrespondent", "korrespondentin", "autor", "autorin", "author", "contributor",
               "senior", "chief", "political", "news", "desk", "team", "online", "admin", "administrator",
               "redacción", "rédaction", "redazione", "redactie", "staff writer", "guest", "photographer",
               "foto", "photo", "text", "und", "and", "von", "by", "mit", "with", "agencies", "editorial",
               "unknown", "anonymous", "anonym", "gast", "human", "user", "says", "sagt", "schreibt",
               "folgen", "follow", "mehr", "more", "profil", "profile"}
# a capitalised byline word inside a piece: what precedes it is a kicker ("Capital Von Jemima Kelly")
_INNER_BY = re.compile(r"^.*?\s(?:Von|By|Par|Por|Door|Di)\s(?=[A-ZÀ-Þ])")
# a URL slug of a profile ("emma-mackenzie"): a name written by a machine, not a byline
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")


def _strip_byline(piece: str) -> str:
    """Remove a leading byline word, keeping surname particles that are part of the name."""
    piece = _BY_ALWAYS.sub("", piece)
    match = re.match(r"^(door|par|von|de|di|por|av|af)\s+(\S+)(\s+\S+)?", piece, re.I)
    # strip the particle only when followed by a capitalised first name and a further word
    if match and match.group(2)[:1].isupper() and match.group(3):
        piece = piece[len(match.group(1)):].lstrip()
    return piece


def _is_name(piece: str) -> bool:
    """Names have letters, no figures, few words, and are not a dateline's month or a bare role."""
    if not piece or _SLUG.match(piece) or not any(ch.isalpha() for ch in piece) or any(ch.isdigit() for ch in piece):
        return False
    words = piece.lower().split()
    if len(words) > _MAX_WORDS or piece.lower().rstrip(".") in _MONTH_WORDS:
        return False
    if _DOMAIN_TAIL.search(piece):
        return False  # "NDR de", "Jungefreiheit De": a domain name spelled out by a normaliser
    if words[-1] in _SAYS or any("admin" in word for word in words):
        return False  # "Art Edwards says": a reader's comment header; "wpadmin": a CMS account
    return not all(word.strip(".,:") in _ROLE_WORDS for word in words)


def clean_authors(raw: Iterable[str | None], names_site: Callable[[str], bool] | None = None) -> list[str]:
    """Split, clean and de-duplicate author strings, in order; drops e-mails, URLs, handles, roles,
    initials codes and (with ``names_site``) values that name the site or its publisher."""
    names: list[str] = []
    seen: set[str] = set()
    for value in raw:
        if not value:
            continue
        value = _PAREN.sub(" ", _EMAIL_OR_URL.sub(" ", " ".join(html.unescape(value).split())))
        for piece in _SPLIT.split(_BY_ALWAYS.sub("", value.strip())):
            piece = _strip_byline(_INNER_BY.sub("", piece.strip())).strip(" \t-–—:,.·|()[]")
            piece = " ".join(piece.split())
            if not _is_name(piece) or (names_site is not None and names_site(piece)):
                continue
            if piece.lower() not in seen:
                seen.add(piece.lower())
                names.append(piece)
    return names


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD author value (string, Person, Organization, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, list):
            return [n for n in name if isinstance(n, str)]
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def jsonld_authors(objects: list[dict[str, Any]]) -> list[str]:
    """The first article object's declared authors (``author``, else ``creator``)."""
    for obj in objects:
        if names := _names(obj.get("author") or obj.get("creator")):
            return names
    return []


def page_authors(sources: Iterable[Iterable[str | None]], names_site: Callable[[str], bool],
                 visible: Callable[[], Iterable[str | None]] | None = None) -> list[str]:
    """The people named by the first source that names anyone once cleaned (sources most trusted first);
    then the visible byline (``visible``, read only then: it is a search over a copy of the page)."""
    read: list[list[str | None]] = []
    for source in sources:  # lazily: a later source (trafilatura's byline search) may be costly
        read.append(list(source))
        if names := clean_authors(read[-1], names_site):
            return names
    if visible is not None and (names := clean_authors(visible(), names_site)):
        return names
    # nobody but the site is named: a desk story the publisher signs itself, or a personal site whose
    # name is its author's (a domain name is never kept: see _DOMAIN_TAIL)
    for source in read:
        if names := clean_authors(source):
            return names
    return []
