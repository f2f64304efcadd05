"""Error accounting shared by every stage: one error, counted globally, in the total and per source."""

from __future__ import annotations

from typing import Any


def count_error(stats: Any, label: str, source: str) -> None:
    """Count one error globally, in the total, and per source (also by label, for the run report).

    ``stats`` is a Scrapy stats collector (anything with ``inc_value``); None counts nothing.
    """
    if stats is None:
        return
    stats.inc_value(f"autonews/errors/{label}")
    stats.inc_value("autonews/errors/total")
    stats.inc_value(f"autonews/source/{source}/errors")
    stats.inc_value(f"autonews/source/{source}/errors/{label}")
