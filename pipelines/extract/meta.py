"""Metadata from one parsed page: JSON-LD first, then <meta> tags, then trafilatura's guesses.

Pure functions over an lxml tree; nothing here touches the network or a crawler.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

_ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                  "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "techarticle",
                  "scholarlyarticle", "socialmediaposting", "liveblogposting", "report", "webpage"}
PUBLISHED_META = ("article:published_time", "og:article:published_time", "datepublished", "pubdate",
                   "publishdate", "publish-date", "parsely-pub-date", "sailthru.date", "dc.date.issued",
                   "dcterms.created", "date")
MODIFIED_META = ("article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
                  "dcterms.modified", "last-modified")
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
_ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")
_LANG = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")


def _walk(obj: Any) -> Iterator[dict[str, Any]]:
    """Yield every dict nested in a JSON-LD document (including @graph members)."""
    if isinstance(obj, dict):
        yield obj
        for value in obj.values():
            yield from _walk(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk(value)


def jsonld_all(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, whatever its type (nested ones included)."""
    found: list[dict[str, Any]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder recurses
            continue
        found.extend(_walk(data))
    return found


def jsonld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """All JSON-LD objects of the page whose @type is an article-like type, most specific first."""
    found: list[tuple[int, dict[str, Any]]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the decoder recurses
            continue
        for obj in _walk(data):
            types = obj.get("@type")
            names = {str(t).lower() for t in (types if isinstance(types, list) else [types])}
            if names & _ARTICLE_TYPES:
                # a WebPage wrapper is a weaker source than the Article it describes
                found.append((1 if names == {"webpage"} else 0, obj))
    return [obj for _, obj in sorted(found, key=lambda pair: pair[0])]


def meta_values(tree: HtmlElement) -> dict[str, str]:
    """First value of each <meta name|property|itemprop> on the page, keys lower-cased."""
    values: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = meta.get("content")
        if key and content and content.strip():
            values.setdefault(key.strip().lower(), content.strip())
    return values


def normalize_date(value: Any) -> str | None:
    """ISO 8601 form of a date string (ISO, RFC 2822 or YYYY-MM-DD prefix), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if _ISO_PREFIX.match(value):
        if len(value) == 10:  # a bare date stays a bare date rather than gaining a made-up midnight
            return value
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return value[:10]
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def first_date(objects: list[dict[str, Any]], meta: dict[str, str], ld_key: str,
               meta_keys: tuple[str, ...]) -> str | None:
    """The first parseable date among JSON-LD ``ld_key`` values then the listed meta keys."""
    candidates = [obj.get(ld_key) for obj in objects] + [meta.get(key) for key in meta_keys]
    for candidate in candidates:
        if (date := normalize_date(candidate)) is not None:
            return date
    return None


def _names(value: Any) -> list[str]:
    """Person names from a JSON-LD author value (string, Person, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def raw_authors(objects: list[dict[str, Any]], meta: dict[str, str]) -> list[str]:
    """Author strings declared in JSON-LD, else in <meta> (URLs skipped: article:author is often a profile)."""
    for obj in objects:
        if names := _names(obj.get("author") or obj.get("creator")):
            return names
    return [meta[key] for key in _AUTHOR_META if key in meta and not meta[key].startswith("http")][:1]


# a description that is only a name ("MTHOBISI SITHOLE"): a CMS that put the byline in the summary field
_NAME_ONLY = re.compile(r"^(?:[A-ZÀ-Þ][^\W\d_]*(?:['’-][^\W\d_]+)*\.?\s+){1,3}[A-ZÀ-Þ][^\W\d_]*(?:['’-][^\W\d_]+)*$")


def meta_authors(meta: dict[str, str]) -> list[str]:
    """Every author declared in <meta> (profile URLs skipped: article:author is often one); with none, a
    description that is only a name, which is a byline some CMSs put in the summary field."""
    found = [meta[key] for key in _AUTHOR_META if key in meta and not meta[key].startswith("http")]
    if not found:
        descriptions = {" ".join(meta[key].split()) for key in ("description", "og:description", "twitter:description")
                        if key in meta}
        own = {meta[key].casefold() for key in ("og:site_name", "application-name", "og:title", "twitter:title")
               if key in meta}  # the site's or the page's own name is no byline
        found = [value for value in descriptions if _NAME_ONLY.match(value) and value.casefold() not in own][:1]
    return found


def keywords(objects: list[dict[str, Any]], meta: dict[str, str]) -> list[str]:
    """Keywords from JSON-LD / <meta name=keywords> / article:tag, split on commas."""
    raw: list[str] = []
    for obj in objects[:1]:
        value = obj.get("keywords")
        raw += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    for key in ("keywords", "news_keywords", "article:tag"):
        if key in meta:
            raw.append(meta[key])
    return [part.strip() for item in raw if isinstance(item, str) for part in item.split(",") if part.strip()]


def declared_languages(tree: HtmlElement, meta: dict[str, str]) -> list[str]:
    """Two-letter language codes declared by <html lang>, og:locale and content-language meta."""
    codes: list[str] = []
    for value in (tree.get("lang"), tree.get("xml:lang"), meta.get("og:locale"), meta.get("content-language")):
        match = _LANG.match((value or "").strip())
        if match and (code := match.group(1).lower()) not in codes:
            codes.append(code)
    return codes


def canonical_url(tree: HtmlElement, meta: dict[str, str], base_url: str) -> str | None:
    """Absolute rel=canonical (or og:url) of the page, or None."""
    for link in tree.iterfind(".//link[@rel]"):
        if link.get("rel", "").strip().lower() == "canonical" and link.get("href", "").strip():
            candidate = urljoin(base_url, link.get("href").strip())
            break
    else:
        candidate = urljoin(base_url, meta["og:url"]) if meta.get("og:url") else None
    return candidate if candidate and candidate.startswith(("http://", "https://")) else None
