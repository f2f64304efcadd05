"""What a written record contributes to a dedupe store (recovery of interrupted runs).

Shared by every backend so they record a recovered line exactly as the pipeline would have.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pipelines.dedupe.neardup import near_signature, text_fingerprint
from pipelines.dedupe.urls import canonicalize_url, url_aliases


def record_add_args(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return ``(canonical_url, keyword arguments of DedupeStore.add)`` for a written record.

    Its URLs are always recorded; its fingerprint and signature only when it is not
    itself a kept duplicate (``duplicate_of``), so later copies match the original.
    """
    canonical = record.get("canonical_url") or canonicalize_url(record["url"])
    kwargs: dict[str, Any] = {"aliases": url_aliases(record.get("url"), canonical)}
    if record.get("duplicate_of"):
        return canonical, kwargs
    text = record.get("text") or ""
    kwargs["fingerprint"] = record.get("fingerprint") or text_fingerprint(text)
    kwargs["signature"] = near_signature(text)
    try:
        first_seen = datetime.fromisoformat(record["fetched_at"]) if record.get("fetched_at") else None
    except ValueError:
        first_seen = None
    if first_seen is not None and first_seen.tzinfo is None:
        first_seen = first_seen.replace(tzinfo=timezone.utc)
    kwargs["first_seen"] = first_seen
    # an updated article's line (version 2, 3...) makes its text the article's latest
    version = record.get("version")
    kwargs["version"] = version if isinstance(version, int) and version > 0 else 1
    kwargs["checked"] = first_seen
    return canonical, kwargs
