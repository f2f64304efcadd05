"""The publication date and where it came from (``published_from``), so downstream can weigh it.

Order of trust: JSON-LD ``datePublished`` of the article object, then publication <meta> tags, then
htmldate's reading of the page (original date only, no extensive search), then a visible dateline,
then a date in the URL path. A modified date never stands in for the published one: only publication
fields are read, htmldate runs with ``original_date``, and a WebPage wrapper's date (which comes after
htmldate's) is not taken when it is just the page's declared modification date. ``feed`` and ``sitemap`` are added later, by the pipeline, when the page has no date.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from lxml.html import HtmlElement

from pipelines.extract.dateline import visible_date
from pipelines.extract.meta import MODIFIED_META, PUBLISHED_META, first_date, normalize_date

#: Every value ``published_from`` can take (None: no date at all).
PUBLISHED_FROM = ("jsonld", "meta", "htmldate", "dateline", "url", "feed", "sitemap")
# /2023/11/08/, /2023-11-08-, /20231108/ in a URL path
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]([01]\d)[/-]([0-3]\d)(?:[/-]|$)|/((?:19|20)\d\d)([01]\d)([0-3]\d)/")


def url_date(url: str | None) -> str | None:
    """YYYY-MM-DD from a date in the URL path, or None."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    year, month, day = (int(g) for g in (match.groups()[:3] if match.group(1) else match.groups()[3:]))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _origin(date: str, source: str, tree: HtmlElement, url: str | None) -> str:
    """htmldate reads URLs and visible datelines too: say so when its date is the URL's or the dateline's."""
    if source != "htmldate":
        return source
    if url_date(url) == date[:10]:
        return "url"
    if visible_date(tree) == date[:10]:
        return "dateline"
    return source


def published_date(tree: HtmlElement, objects: list[dict[str, Any]], meta: dict[str, str],
                   guess: Callable[[], str | None], url: str | None) -> tuple[str | None, str | None]:
    """(published date in ISO 8601, its source from ``PUBLISHED_FROM``), or (None, None).

    ``guess`` returns htmldate's reading of the page; it is only called when the page declares no date or
    its declared dates disagree (it searches a copy of the whole page).
    """
    modified = first_date(objects, meta, "dateModified", MODIFIED_META)
    article_objects = [o for o in objects if str(o.get("@type", "")).lower() != "webpage"]
    # the first dated article object only: a live blog's updates are article objects nested in it
    declared = [(first_date(article_objects, {}, "datePublished", ()), "jsonld")]
    declared += [(normalize_date(meta.get(key)), "meta") for key in PUBLISHED_META]
    declared = [(date, source) for date, source in declared if date]
    # the page's own publication fields disagree (a re-published story keeps its first date in one of
    # them): htmldate's reading of the whole page arbitrates, when it sides with one of them
    if _days_apart([date for date, _ in declared]) > 1 and (htmldate := normalize_date(guess())):
        for date, source in declared:
            if date[:10] == htmldate[:10]:
                return date, source
    if declared:
        return declared[0]
    htmldate = normalize_date(guess())
    # a WebPage's own date is the page's, not necessarily the article's: it comes after htmldate
    candidates = [(htmldate, "htmldate"), (first_date(objects, {}, "datePublished", ()), "jsonld")]
    for date, source in candidates:
        if date and not (modified and date == modified and source == "jsonld"):
            return date, _origin(date, source, tree, url)
    if date := visible_date(tree):
        return date, "dateline"
    if date := url_date(url):
        return date, "url"
    return None, None


def _days_apart(dates: list[str]) -> int:
    """Days between the earliest and the latest of ``dates`` by calendar date (time zones differ, so
    one day apart can be the same instant)."""
    days = []
    for date in dates:
        try:
            days.append(datetime.fromisoformat(date[:10]).toordinal())
        except ValueError:
            continue
    return max(days) - min(days) if days else 0


def after(date: str | None, fetched_at: str | None) -> bool:
    """Whether ``date`` is later than the fetch (by calendar date when either has no time zone)."""
    if not date or not fetched_at:
        return False
    try:
        when, fetched = datetime.fromisoformat(date.replace("Z", "+00:00")), datetime.fromisoformat(
            fetched_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None or fetched.tzinfo is None or len(date) == 10:
        return when.date() > fetched.astimezone(timezone.utc).date() if fetched.tzinfo else when.date() > fetched.date()
    return when > fetched
