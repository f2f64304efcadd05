"""The headline without the site's name: "Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung" → the headline.

What the page says about itself names the site (og:site_name, application-name, the JSON-LD publisher,
the host name); a part of a title split off by a separator (" | ", " - ", " – ", "：" ...) is dropped when it
names the site, is a date or a byline, and never otherwise, so "Climate change: the year ahead" stays whole.
Then the page's title sources (og:title, JSON-LD headline, <h1>, twitter:title, <title>) vote: the cleaned
title most of them agree on wins. No rule names a site.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from pipelines.extract.meta import jsonld_all

# separators between a headline and the site's name or section; a bare hyphen needs spaces around it
_SEPARATOR = re.compile(r"\s+(?:[|–—\-·•*»«›‹~/:]|>>|::)\s+|\s*[|｜ㅣ]\s*|\s*[：]\s*|\s+-(?=\S)|(?<=\S)-\s+")
# a part that is only a date ("13.06.2023", "2023-06-13", "June 13, 2023")
_DATE_PART = re.compile(r"^(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\w+\.? \d{1,2},? \d{4}|\d{1,2}\.? \w+\.? \d{4})$")
# a byline part of a title ("by Jane Roe")
_BYLINE_PART = re.compile(r"^(?:by|von|par|por|door|di|av|af|przez)\s+\S", re.I)
# host labels that say nothing about the site
_GENERIC_LABELS = {"www", "m", "amp", "mobile", "edition", "com", "net", "org", "co", "news", "www2", "de", "uk", "gov",
                   "ac", "or", "ne", "go", "info", "online", "web", "home", "en", "blog"}
_MIN_HEADLINE_CHARS = 8
_SITE_TYPES = {"website", "newsmediaorganization"}
# priority among sources when agreement does not decide: what the page says its article's title is
SOURCES = ("og", "ld", "h1", "twitter", "title")
# og:title, what the publisher declares as the title to share, outweighs all the others together: on news
# pages the <h1> and <title> more often carry a kicker ("Topic: headline") or a longer SEO variant
WEIGHTS: dict[str, float] = {"og": 5.0}


def _compact(text: str) -> str:
    """Letters and digits only, case folded: "Golem.de" → "golemde", "n-tv NACHRICHTEN" → "ntvnachrichten"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def host_labels(url: str | None) -> list[str]:
    """Meaningful labels of a URL's host: "https://www.golem.de/x" → ["golem"]."""
    host = (urlsplit(url or "").hostname or "").lower()
    labels = host.split(".")
    return [label for label in labels[:-1] if len(label) >= 2 and label not in _GENERIC_LABELS]


def site_names(tree: HtmlElement, objects: list[dict[str, Any]], meta: dict[str, str]) -> list[str]:
    """Names the page gives its site or publisher: og:site_name, application-name, JSON-LD publisher and
    WebSite / organisation names, twitter:site; never the article's own headline, which some CMSs copy
    into og:site_name: a name that two of og:title, the JSON-LD headline, the <h1> and twitter:title give
    as the title (one alone may be the site's: a blog's <h1> is often its name)."""
    names = [meta.get(key) for key in ("og:site_name", "application-name", "apple-mobile-web-app-title",
                                       "al:android:app_name", "al:ios:app_name", "twitter:app:name:iphone")]
    if (handle := meta.get("twitter:site")) and handle.startswith("@"):
        names.append(handle[1:])
    for obj in objects:
        publisher = obj.get("publisher")
        for item in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
    for obj in jsonld_all(tree):
        types = obj.get("@type")
        kinds = {str(t).lower() for t in (types if isinstance(types, list) else [types])}
        if kinds & _SITE_TYPES and isinstance(obj.get("name"), str):
            names.append(obj["name"])
    candidates = title_candidates(tree, objects, meta)
    titles = [_norm(candidates[key]) for key in ("og", "ld", "h1", "twitter") if candidates[key]]
    return [name.strip() for name in names if isinstance(name, str) and name.strip()
            and titles.count(_norm(name)) < 2]


class SiteMatcher:
    """Tells whether a string names the site: by its declared names or by its host name."""

    def __init__(self, names: Iterable[str], url: str | None) -> None:
        names = list(names)
        names += [re.sub(r"\.[a-z]{2,3}$", "", n.strip().lower()) for n in names]
        self.names = list(dict.fromkeys(c for c in (_compact(n) for n in names) if len(c) >= 2))
        self.labels = [label.replace("-", "") for label in host_labels(url)]

    def names_site(self, text: str) -> bool:
        """True when ``text`` is (or holds, or is held in) one of the site's names or its host label."""
        compact = _compact(text)
        if not compact:
            return False
        for name in self.names:
            if compact == name or (len(compact) >= 3 and compact in name) or (len(name) >= 4 and name in compact
                                                                                and len(compact) <= 2 * len(name) + 6):
                return True
        for label in self.labels:
            if compact == label or (len(label) >= 3 and (compact.startswith(label) or compact.endswith(label))
                                    and len(compact) <= len(label) + 14):
                return True
        return False


def site_name(found: str | None, names: list[str], headline: str | None, url: str | None) -> str | None:
    """The site's name: ``found`` (trafilatura's: og:site_name, else a part of <title>, else the host) unless
    it is the article's ``headline`` (a CMS that fills og:site_name with it); then the first other name
    the page gives its site (``names``: see :func:`site_names`), else the URL's host."""
    taken = {_norm(headline)} if headline and headline.strip() else set()
    if found and _norm(found) not in taken:
        return found
    for name in names:
        if _norm(name) not in taken:
            return name
    host = (urlsplit(url or "").hostname or "").lower()
    return re.sub(r"^www\d?\.", "", host) or None


def _parts(title: str) -> list[tuple[str, str]]:
    """``title`` split at separators: (part, separator that follows it)."""
    parts: list[tuple[str, str]] = []
    last = 0
    for match in _SEPARATOR.finditer(title):
        parts.append((title[last:match.start()], match.group(0)))
        last = match.end()
    parts.append((title[last:], ""))
    return parts


def _droppable(part: str, site: SiteMatcher) -> bool:
    part = part.strip()
    return not part or site.names_site(part) or bool(_DATE_PART.match(part)) or bool(_BYLINE_PART.match(part))


def strip_site(title: str, site: SiteMatcher) -> str:
    """The title without leading or trailing parts that name the site, a date or a byline."""
    title = " ".join(title.split())
    parts = _parts(title)
    if len(parts) == 1:
        return title
    start, end = 0, len(parts)
    # a site's name ends the headline: a tagline after it goes too ("Headline | Site | Your magazine")
    for i in range(1, len(parts)):
        if site.names_site(parts[i][0]):
            end = i
            break
    while end - start > 1 and _droppable(parts[end - 1][0], site):
        end -= 1
    while end - start > 1 and _droppable(parts[start][0], site):
        start += 1
    kept = "".join(part + sep for part, sep in parts[start:end - 1]) + parts[end - 1][0]
    kept = kept.strip()
    return kept if len(kept) >= _MIN_HEADLINE_CHARS or len(kept) * 2 >= len(title) else title


def _is_prefix_part(short: str, long: str) -> bool:
    """Whether ``short`` is ``long`` cut at a separator (the rest being a section or site name)."""
    n_short = _norm(short)
    if not n_short or n_short == _norm(long):
        return False
    acc = ""
    for part, sep in _parts(long)[:-1]:
        acc += part
        if _norm(acc) == n_short:
            return True
        acc += sep
    return False


def choose_title(candidates: dict[str, str | None], site: SiteMatcher) -> str | None:
    """The cleaned title most sources agree on; ties go to the first source in ``SOURCES``.

    A source whose cleaned title is another's cut at a separator ("Headline" vs "Headline - National")
    supports that shorter one: the extra part is a section name the site appends.
    """
    cleaned = {src: strip_site(value, site) for src, value in candidates.items()
               if value and value.strip() and not site.names_site(value)}
    if not cleaned:
        return None
    votes: dict[str, float] = {}
    first: dict[str, tuple[int, str]] = {}
    for src in SOURCES:
        if src not in cleaned:
            continue
        value = cleaned[src]
        key = _norm(value)
        votes[key] = votes.get(key, 0) + WEIGHTS.get(src, 1.0)
        first.setdefault(key, (SOURCES.index(src), value))
    for key in list(votes):
        for src, value in cleaned.items():
            if _is_prefix_part(first[key][1], value):
                votes[key] += 1
    best = max(votes, key=lambda k: (votes[k], -first[k][0]))
    return first[best][1]


def title_candidates(tree: HtmlElement, objects: list[dict[str, Any]], meta: dict[str, str]) -> dict[str, str | None]:
    """The page's title sources by name (see ``SOURCES``): og:title, JSON-LD headline, first <h1>,
    twitter:title, <title>."""
    h1 = next((" ".join(h.text_content().split()) for h in tree.iter("h1") if h.text_content().strip()), None)
    headline = next((o["headline"] for o in objects if isinstance(o.get("headline"), str)), None)
    return {"og": meta.get("og:title"), "ld": html.unescape(headline) if headline else None, "h1": h1,
            "twitter": meta.get("twitter:title"), "title": " ".join((tree.findtext(".//title") or "").split())}


def page_title(tree: HtmlElement, objects: list[dict[str, Any]], meta: dict[str, str], site: SiteMatcher,
               fallback: str | None = None) -> str | None:
    """The article's headline without the site's name (``fallback``: trafilatura's guess, when no source has one)."""
    return choose_title(title_candidates(tree, objects, meta), site) or (strip_site(fallback, site) if fallback else None)
