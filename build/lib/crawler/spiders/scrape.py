"""The one-off spider: fetch the given URLs (or local .html files) as articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from crawler.spiders.base import NewsSpiderBase


def to_url(target: str) -> str:
    """Return an http(s)/file URL for a URL or a local file path."""
    if "://" in target:
        return target
    path = Path(target).expanduser()
    if not path.is_file():
        raise ValueError(f"{target!r} is neither a URL nor an existing file")
    return path.resolve().as_uri()


class ScrapeSpider(NewsSpiderBase):
    """Fetch ``AUTONEWS_URLS`` (or the ``urls`` spider argument, comma separated) once each."""

    name = "scrape"

    def __init__(self, urls: str | list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = urls.split(",") if isinstance(urls, str) else list(urls or [])

    async def start(self) -> AsyncIterator[Any]:
        """Yield one article request per target, in the given order."""
        targets = self.targets or self.crawler.settings.getlist("AUTONEWS_URLS")
        for target in targets:
            yield self.article_request(to_url(target), "oneoff")
