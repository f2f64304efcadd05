"""Dates found in feeds and sitemaps: RFC 822 (RSS pubDate) and ISO 8601 / W3C-DTF."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_tz

# Leading day names in any language ("Mi, 01 May 2024") confuse nothing in
# parsedate_tz once removed, and localised ones would otherwise make it fail.
_DAY_PREFIX_RE = re.compile(r"^\s*[^\W\d]+\.?,\s*")
_DATE_ONLY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Zone names email.utils understands, and numeric offsets.
_RFC822_ZONES = frozenset(("UT", "UTC", "GMT", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"))
_NUMERIC_ZONE_RE = re.compile(r"[+-]\d{4}")
# European zone names seen in feeds that email.utils does not know.
_EXTRA_ZONES = {"CET": 3600, "MEZ": 3600, "CEST": 7200, "MESZ": 7200, "BST": 3600, "WET": 0, "WEST": 3600}


def parse_date(value: str | None) -> datetime | date | None:
    """Parse a feed/sitemap date; a `date` for date-only values, None if unparseable.

    Accepts ISO 8601 (2024-05-01, 2024-05-01T10:00:00Z, +0200 offsets, fractions)
    and RFC 822 (Wed, 01 May 2024 10:00:00 GMT, named US zones, -0000).
    Datetimes without a zone stay naive: guessing a zone would invent information.
    """
    if not value:
        return None
    text = value.strip()
    if _DATE_ONLY_RE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    return _parse_rfc822(text)


def _parse_rfc822(text: str) -> datetime | None:
    """Parse an RFC 822/2822 date, tolerating a missing or localised day name."""
    text = _DAY_PREFIX_RE.sub("", text)
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    zone = text.rsplit(None, 1)[-1].upper()
    # parsedate_tz reports 0 both for GMT and for a missing or unknown zone, so the
    # zone token decides: unknown or absent zones leave the datetime naive.
    offset: int | None
    if zone in _EXTRA_ZONES:
        offset = _EXTRA_ZONES[zone]
    elif zone in _RFC822_ZONES or _NUMERIC_ZONE_RE.fullmatch(zone):
        offset = parsed[9] or 0
    else:
        offset = None
    try:
        moment = datetime(*parsed[:6])
        return moment if offset is None else moment.replace(tzinfo=timezone(timedelta(seconds=offset)))
    except (ValueError, OverflowError):  # impossible day, or an offset beyond +-24 h
        return None


def normalize_feed_date(value: str | None) -> str | None:
    """ISO 8601 form of a feed/sitemap date, or None if absent or unparseable.

    Zone offsets are kept as given (no conversion); date-only values stay dates.
    """
    parsed = parse_date(value)
    if parsed is None:
        return None
    if isinstance(parsed, datetime):
        return parsed.isoformat(timespec="seconds")
    return parsed.isoformat()


def as_utc(value: str | None) -> datetime | None:
    """A feed/sitemap date as an aware datetime: naive taken as UTC, a date-only value as its day's start."""
    parsed = parse_date(value)
    if parsed is None:
        return None
    if not isinstance(parsed, datetime):
        return datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
