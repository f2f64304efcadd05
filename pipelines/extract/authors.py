"""Turning raw bylines ("By Jane Doe and John Roe", "door Haye Kesteloo") into a list of people.

Sources in order of trust: JSON-LD ``author``, ``<meta name=author>`` and kin, trafilatura's reading of
the page, then the visible byline. The first source that still names someone after cleaning wins: a
value that names the site or its publisher ("Deutsche Welle" on dw.com) is not an author, so a source
holding only that gives way to the next one. A name a source gives as the site's (by the site's own
domain: "Deutsche Welle (www.dw.com)") or as a login slug ("gabor_munier") is dropped from the later
sources too, where trafilatura gives it back reworded ("Deutsche Welle", "Gabor Munier"). Companies
(a legal form: GmbH, e.V., Ltd...), the CMS's default account and debris of a broken HTML entity are
never authors.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from typing import Any

# byline words in the languages of the registry and the benchmark sets; "by" may be glued to a role ("Posted by")
_BY_ALWAYS = re.compile(r"^(?:(?:zeige\s+|view\s+)?(?:alle\s+|all\s+)?(?:beiträge|artikel|posts|articles)\s+(?:von|by)"
                        r"|(?:written|posted|reported|words|story|text|photos?|interview|recipe)\s+by|by|author|autor(?:in)?|interview"
                        r"|auteur|text|texte|redaktion|verfasst von|geschrieben von|ein (?:beitrag|artikel) von"
                        r"|reportage|przez|autorstwa|skrevet af|skrevet av|vom"
                        r"|(?:zum\s+)?profil\s+von|(?:view\s+)?profile\s+of|alles?\s+(?:artikel\s+)?von|more\s+(?:articles\s+)?by"
                        r")\s*[:\-]?\s+", re.I)
# conjunctions between co-authors: and, und, et, y, e, og, en, i, &, plus list punctuation
_SPLIT = re.compile(r"\s*(?:,|;|\||/|·|\s&\s|\s(?:and|und|et|y|e|og|en|i|och|ja|és|a|oraz|u)\s)\s*", re.I)
_EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|(?<!\S)@\w+|\S+\.(?:com|net|org|de|fr|it|es|uk)\b", re.I)
# a parenthesised initials code or role, closed or cut ("Elena Oberholzer (obe", "Jane Roe (AFP)")
_PAREN = re.compile(r"\s*[(\[][^)\]]*(?:[)\]]|$)")
_MAX_WORDS = 6
# a longer value is a text, not a byline; skipping it also bounds the cost of the e-mail and URL patterns,
# whose "\S+" runs are quadratic on one long run of non-spaces
MAX_VALUE_CHARS = 1000
_DOMAIN_TAIL = re.compile(r"\s(?:de|com|ch|at|net|org|fr|it|es|nl|be|uk|co|info|eu)$", re.I)
_SAYS = {"says", "sagt", "schreibt", "dit", "dice", "zegt", "wrote", "writes"}
_MONTH_WORDS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
# words of a date or a time stamp glued to the end of a byline ("Carrie Arnold November", "Jeff Foust Monday",
# "Detroit News wire services Published"): never the last word of a name
_DATE_TAIL_WORDS = {"january", "february", "march", "april", "june", "july", "august", "september", "october",
                    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                    "sunday", "published", "updated", "posted", "januar", "februar", "märz", "juni", "juli",
                    "oktober", "dezember", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag",
                    "sonntag", "veröffentlicht", "aktualisiert", "am", "on", "le", "il", "el", "op"} | _MONTH_WORDS
# a value that gives a source, a credit or a photo, not who wrote the text ("Quelle: sid", "Foto: dpa")
_SOURCE_LABEL = re.compile(r"^(?:quellen?|sources?|fuente|fonte|bron|kilde|källa|źródło|foto|fotos|photos?|bild"
                           r"|bilder|image|credits?|via)\b\s*:?", re.I)
# a slug a template capitalised ("Chuck-Ross"): one token of capitalised parts joined by hyphens or underscores
# (parts of three letters at least: "Al-Bawaba" is a name written so)
_CAPITALISED_SLUG = re.compile(r"^[A-ZÀ-Þ][a-zß-ÿ]{2,}(?:[-_][A-ZÀ-Þ][a-zß-ÿ]{2,})+$")
# words that are a role or a desk, not a person: a piece made only of them is dropped
_ROLE_WORDS = {"staff", "writer", "reporter", "editor", "editors", "correspondent", "redaktion", "redakteur",
               "redakteurin", "korrespondent", "korrespondentin", "autor", "autorin", "author", "contributor",
               "senior", "chief", "political", "news", "desk", "team", "online", "admin", "administrator",
               "redacción", "rédaction", "redazione", "redactie", "staff writer", "guest", "photographer",
               "foto", "photo", "text", "und", "and", "von", "by", "mit", "with", "agencies", "editorial",
               "unknown", "anonymous", "anonym", "gast", "human", "user", "says", "sagt", "schreibt",
               "folgen", "follow", "mehr", "more", "profil", "profile",
               # section words of a news site: a menu entry or a desk read as a byline ("Nachrichten")
               "nachrichten", "aktuell", "aktuelles", "politik", "wirtschaft", "sport", "lokales", "kultur",
               "panorama", "meldungen", "noticias", "actualités", "actualites", "notizie", "cronaca", "nieuws",
               "nyheter", "nyheder", "wiadomości", "startseite", "home", "wire", "services", "service",
               "reports", "report", "bureau", "newsroom", "newsdesk", "desk", "writers", "reporters",
               "staffers", "correspondents", "editorial", "board"}
# a capitalised byline word inside a piece: what precedes it is a kicker ("Capital Von Jemima Kelly")
_INNER_BY = re.compile(r"^.*?\s(?:Von|By|Par|Por|Door|Di)\s(?=[A-ZÀ-Þ])")
# a legal form: a company or an association, not a person ("ZooRoyal Petcare GmbH", "Hanns-Seidel-Stiftung e.V.")
_LEGAL_FORM = re.compile(r"(?:^|\s)(?:(?i:g?gmbh|gesmbh|kgaa|ltd|limited|inc|llc|llp|plc|corp|copyright)\.?|AG|KG|OHG|GbR|e\.?\s?V\.?"
                         r"|S\.\s?A\.?|S\.p\.A\.?|S\.\s?L\.?|B\.V\.?|N\.V\.?|Pty|SE|s\.r\.o\.?|©)(?=\s|$|,)")
# a role written after a name in Korean, Japanese or Chinese bylines ("신현주 기자", "山田太郎記者")
_CJK_ROLE = re.compile(r"\s*(?:선임기자|객원기자|기자|특파원|논설위원|記者|记者|特派員|编辑|編集委員)$")
# a last word that keeps its full stop: a suffix or an initial ("Perry Bacon Jr.", "Juan Carlos Muñoz C.")
_ABBREVIATION = re.compile(r"(?:^|\s)(?:Jr|Sr|[^\W\d_])$")
# what is left of an accented letter's HTML entity split at its ";" ("Redacci&oacute;n" read as "Redacci; Oacute; N")
_ENTITY_DEBRIS = re.compile(r"^(?:[A-Za-z]{1,2}(?:acute|grave|uml|circ|tilde|cedil|ring|slash|lig|caron)|nbsp|amp|quot|szlig)$")
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
    if len(words) > _MAX_WORDS or piece.lower().rstrip(".") in _DATE_TAIL_WORDS:
        return False
    if _DOMAIN_TAIL.search(piece):
        return False  # "NDR de", "Jungefreiheit De": a domain name spelled out by a normaliser
    if words[-1] in _SAYS or any("admin" in word for word in words):
        return False  # "Art Edwards says": a reader's comment header; "wpadmin": a CMS account
    return not all(word.strip(".,:") in _ROLE_WORDS for word in words)


def _tidy(piece: str) -> str:
    """One split piece without byline words, edge punctuation, a trailing CJK role or a repeated rendering."""
    cut = _strip_byline(_INNER_BY.sub("", piece.strip())).strip(" \t-–—:,·|()[]")
    cut = " ".join(_CJK_ROLE.sub("", cut).split())
    stripped = cut.rstrip(".").rstrip()
    if cut != stripped and _ABBREVIATION.search(stripped):
        stripped += "."  # "Perry Bacon Jr." keeps the full stop of its suffix
    words = stripped.split()
    while len(words) > 1 and words[-1].lower().strip(".,") in _DATE_TAIL_WORDS:
        words.pop()  # "Carrie Arnold November": the date that followed the name in the byline
    stripped = " ".join(words)
    half = len(words) // 2
    if half and len(words) % 2 == 0 and words[:half] == words[half:]:
        stripped = " ".join(words[:half])  # "jesusfreak jesusfreak": a name rendered twice (link text and alt)
    return stripped


def _roles(piece: str) -> list[bool]:
    """For each word of ``piece``: whether it is a role or desk word."""
    return [w.lower().strip(".,:") in _ROLE_WORDS for w in piece.split()]


def _role_tail(piece: str) -> str:
    """``piece`` without the roles after a name of two words or more ("Tom Gillespie News reporter")."""
    words, roles = piece.split(), _roles(piece)
    end = len(words)
    while end > 2 and roles[end - 1]:
        end -= 1
    return " ".join(words[:end]) if end < len(words) and not any(roles[:end]) else piece


# lower-case words inside a name: surname particles ("Ursula von der Leyen", "Juan de la Cruz")
PARTICLES = {"von", "van", "de", "der", "den", "di", "da", "del", "della", "du", "des", "la", "le", "ten", "ter",
              "y", "bin", "al", "zu", "dos", "das", "do", "e"}


def _person(piece: str) -> bool:
    """Whether ``piece`` looks like a person's full name: two to five capitalised words (particles aside),
    none of them a role ("Markus M. Haefliger", not "Frankfurt a. M.", "AP Sports Writer")."""
    words = piece.split()
    return (2 <= len(words) <= _MAX_WORDS and not any(_roles(piece))
            and all(w[:1].isupper() or w in PARTICLES for w in words))


def _shouting(piece: str) -> bool:
    """A name in capitals of two words or more ("MDR THÜRINGEN"): in a byline that also names a person
    in ordinary case, a desk or a publisher."""
    return len(piece.split()) >= 2 and piece.isupper()


def _byline_parts(value: str) -> list[list[str]]:
    """The names of one byline value, tidied, by comma part ("A and B, C" → [[A, B], [C]]), without the
    places and roles beside a person.

    A one-word comma part right after a person's name is the dateline's place or a degree ("Markus M.
    Haefliger, London", "Ilana Muhlstein, MS"); a role piece ("AP Sports Writer") goes when a person is
    named too.
    """
    parts = [[_tidy(piece) for piece in _SPLIT.split(part)] for part in re.split(r"[,;]", value)]
    persons = any(_person(piece) for part in parts for piece in part)
    kept: list[list[str]] = []
    previous = ""  # the last piece kept
    for part in parts:
        names: list[str] = []
        for piece in part:
            if not piece:
                continue
            alone = len(part) == 1 and len(piece.split()) == 1
            if persons and not _person(piece) and ((alone and _person(previous)) or any(_roles(piece))):
                continue
            names.append(piece)
            previous = piece
        if names:
            kept.append(names)
    return kept


def _without_desks(names: list[str]) -> list[str]:
    """``names`` without the desks or publishers in capitals ("MDR THÜRINGEN") when a person is named in
    ordinary case ("David Straub"); a byline all in capitals ("LISA MASCARO, ERIC TUCKER") stays whole."""
    if any(_person(name) and not any(len(w) > 1 and w.isupper() for w in name.split()) for name in names):
        return [name for name in names if not _shouting(name)]
    return names


def _site_tail(piece: str, names_site: Callable[[str], bool]) -> str:
    """``piece`` without a trailing site name followed by a role ("Adam Aaronson PhillyVoice Staff")."""
    words = piece.split()
    roles = [w.lower().strip(".,") in _ROLE_WORDS for w in words]
    for j in range(3, len(words)):  # j: where the trailing roles start
        if roles[j] and all(roles[j:]) and not roles[j - 1]:
            for i in range(2, j):  # the site's name: words[i:j], after a name of two words at least
                if names_site(" ".join(words[i:j])):
                    return " ".join(words[:i])
            break
    return piece


def _names_own_domain(value: str, names_site: Callable[[str], bool]) -> bool:
    """Whether ``value`` carries a domain or URL of the site itself ("Deutsche Welle (www.dw.com)")."""
    for match in _EMAIL_OR_URL.finditer(value):
        host = re.sub(r"^(?:https?://)?(?:www\.)?|/.*$", "", match.group(0).strip("()[]<>,;"))
        if "@" not in host and "." in host and names_site(host.rsplit(".", 1)[0]):
            return True
    return False


def _own_domain_names(value: str, names_site: Callable[[str], bool]) -> set[str]:
    """Names (lower case) that a piece of ``value`` gives together with the site's own domain: "Deutsche Welle
    (www.dw.com)" names the publisher, while in "Troy L. Smith, Cleveland.com" the domain is a piece of its own
    and the person before it stays."""
    own: set[str] = set()
    for piece in _SPLIT.split(value):
        if _names_own_domain(piece, names_site) and (name := _tidy(_PAREN.sub(" ", _EMAIL_OR_URL.sub(" ", piece)))):
            own.add(name.lower())
    return own


def _clean(raw: Iterable[str | None], names_site: Callable[[str], bool] | None,
           site_aliases: set[str] | None = None) -> list[str]:
    """``clean_authors``; names found to be the site's, and login slugs, are recorded in ``site_aliases``
    (lower case, a slug's separators as spaces), and names already there are dropped too."""
    names: list[str] = []
    seen: set[str] = set()
    raw = list(raw)
    if any(value and _ENTITY_DEBRIS.match(value.strip()) for value in raw):
        return []  # a value cut at a broken entity: its pieces are fragments, not names
    # what follows the site's own name in the same source is its address or desk, unless it is a person
    # ("GIROMATCH, Frankfurt a. M., Germany", which trafilatura gives as "GIROMATCH; Frankfurt a M; Germany")
    after_site = False
    for value in raw:
        if not value or len(value) > MAX_VALUE_CHARS:
            continue
        if _SOURCE_LABEL.match(value.strip()):
            continue  # a source or credit line ("Quelle: sid"), not a byline
        if _CAPITALISED_SLUG.match(value.strip()):
            value = re.sub(r"[-_]", " ", value.strip())  # "Chuck-Ross": a profile slug, capitalised
        if _SLUG.match(value.strip()):
            if site_aliases is not None:  # a later source may give it back capitalised ("Gabor Munier")
                site_aliases.add(value.strip().replace("-", " ").replace("_", " ").lower())
            continue
        value = " ".join(html.unescape(value).split())
        if _LEGAL_FORM.search(value):
            continue  # a company or an association ("Haufe-Lexware GmbH & Co. KG"), whatever its conjunctions
        own = _own_domain_names(value, names_site) if names_site is not None else set()
        value = _PAREN.sub(" ", _EMAIL_OR_URL.sub(" ", value))
        for part in _byline_parts(_BY_ALWAYS.sub("", value.strip())):
            if after_site and not any(_person(piece) for piece in part):
                continue  # an address: a comma part (or value) after the site's name that names no person
            for piece in part:
                if not _is_name(piece):
                    continue
                if names_site is not None:
                    piece = _site_tail(piece, names_site)
                piece = _role_tail(piece)
                if names_site is not None:
                    if (piece.lower() in own or names_site(piece)
                            or (site_aliases is not None and piece.lower() in site_aliases)):
                        if site_aliases is not None:
                            site_aliases.add(piece.lower())
                        after_site = True
                        continue
                if piece.lower() not in seen:
                    seen.add(piece.lower())
                    names.append(piece)
    return _without_desks(names)


def clean_authors(raw: Iterable[str | None], names_site: Callable[[str], bool] | None = None) -> list[str]:
    """Split, clean and de-duplicate author strings, in order; drops e-mails, URLs, handles, roles,
    initials codes, companies and (with ``names_site``) values that name the site or its publisher,
    by name or by the site's own domain ("Deutsche Welle (www.dw.com)")."""
    return _clean(raw, names_site)


# the profile of a CMS's default account ("/author/admin/"): a login that published the page, not its author
_ADMIN_PROFILE = re.compile(r"/(?:author|user|member|profile)s?/(?:admin|administrator|wpadmin)\b", re.I)


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD author value (string, Person, Organization, or a list of them); not the
    CMS's default account."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if any(_ADMIN_PROFILE.search(str(value.get(key) or "")) for key in ("@id", "url")):
            return []
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


Visible = Callable[[], Iterable[str | None]]


def page_authors(sources: Iterable[Iterable[str | None]], names_site: Callable[[str], bool],
                 visible: Visible | Iterable[Visible] | None = None) -> list[str]:
    """The people named by the first source that names anyone once cleaned (sources most trusted first);
    then the visible bylines (``visible``: one reader or several, in order, each read only then: they
    search the page). A name one source gives as the site's (by its domain) is the site's in every
    later source too."""
    read: list[list[str | None]] = []
    aliases: set[str] = set()
    for source in sources:  # lazily: a later source (trafilatura's byline search) may be costly
        read.append(list(source))
        if names := _clean(read[-1], names_site, aliases):
            return names
    readers: Iterable[Visible] = [] if visible is None else [visible] if callable(visible) else visible
    for reader in readers:
        if names := _clean(reader(), names_site, aliases):
            return names
    # nobody but the site is named: a desk story the publisher signs itself, or a personal site whose
    # name is its author's (a domain name is never kept: see _DOMAIN_TAIL)
    for source in read:
        if names := clean_authors(source):
            return _without_address(names, names_site)
    return []


def _without_address(names: list[str], names_site: Callable[[str], bool]) -> list[str]:
    """``names`` without what follows the site's own name and is no person: its address ("GIROMATCH",
    "Frankfurt a. M.", "Germany" → "GIROMATCH")."""
    kept: list[str] = []
    after_site = False
    for name in names:
        if not (after_site and not _person(name)):
            kept.append(name)
        after_site = after_site or names_site(name)
    return kept
