"""Ages on the command line and in settings: ``--since 7d``, ``--older-than 90d``, ``AUTONEWS_SINCE``.

No heavy imports: the command line checks its arguments before Scrapy loads.
"""

from __future__ import annotations

import re
from datetime import timedelta

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """Parse an age such as ``90d``, ``12h``, ``2w``, ``30m`` or ``45s`` into a timedelta.

    Raises ValueError for anything else.
    """
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"bad age {text!r}: expected a number and one of s, m, h, d, w (e.g. 90d)")
    return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
