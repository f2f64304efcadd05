"""Test-only: an extraction stage whose pool task takes ``SLOW_SECONDS`` on pages whose URL has ``slow`` in it,
to test ``AUTONEWS_PAGE_TIMEOUT`` through the CLI (set as ITEM_PIPELINES by the test; nothing a page can do
reaches it in a real crawl)."""
from __future__ import annotations

import time
from typing import Any

from pipelines.analysis import PageAnalysis, analyse_page
from pipelines.extract.pipeline import ExtractPipeline

SLOW_SECONDS = 600


def slow_analyse(body: bytes, url: str, *args: Any, **kwargs: Any) -> PageAnalysis | None:
    """``analyse_page``, after a long sleep when ``url`` has ``slow`` in it."""
    if "slow" in url:
        time.sleep(SLOW_SECONDS)
    return analyse_page(body, url, *args, **kwargs)


class SlowExtractPipeline(ExtractPipeline):
    """``ExtractPipeline`` with ``slow_analyse`` as its pool task."""

    task = staticmethod(slow_analyse)
