"""The one-off spider: fetch the given URLs, or read the given local .html files, as articles.

Local files are read here, not downloaded: crawls disable Scrapy's ``file://`` handler (a page
must never make the crawler read a local file, and that handler ignores ``DOWNLOAD_MAXSIZE``),
so only paths the operator names on the command line or in ``--input`` are ever read, each
capped at ``DOWNLOAD_MAXSIZE`` and only when it is a regular file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import scrapy
from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse

from crawler.middlewares.failures import count_error
from crawler.spiders.base import NewsSpiderBase
from crawler.spiders.closing import ClosesWhenDone, connect_close_when_done

SOURCE = "oneoff"
#: Stat: the pages that were not articles, by file name or URL (the first ``MAX_NAMED``), for the summary line.
NOT_ARTICLE_NAMES = "autonews/scrape/not_article_names"
MAX_NAMED = 10


def local_path(target: str) -> Path | None:
    """Return the local file a target names (a path or a ``file://`` URL), or None for a URL."""
    if "://" not in target:
        return Path(target).expanduser()
    parts = urlsplit(target)
    if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    return None


def to_url(target: str) -> str:
    """Return the http(s) URL, or the ``file://`` URL of the existing local file, a target names.

    Raises ValueError for anything else (another scheme, a missing file, a device or directory).
    """
    path = local_path(target)
    if path is None:
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise ValueError(f"{target!r}: only http(s) URLs and local files can be scraped")
        return target
    if not path.is_file():
        raise ValueError(f"{target!r} is neither a URL nor an existing file")
    return path.resolve().as_uri()


def read_capped(path: Path, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes (0: no limit); OSError/ValueError otherwise.

    The size is checked on the open file, and at most ``limit + 1`` bytes are read, so a file
    that grows, or a device posing as a file, cannot make the process read without end.
    """
    with open(path, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: not a regular file")
        data = fh.read(limit + 1) if limit else fh.read()
    if limit and len(data) > limit:
        raise ValueError(f"{path}: larger than DOWNLOAD_MAXSIZE ({limit} bytes)")
    return data


class ScrapeSpider(ClosesWhenDone, NewsSpiderBase):
    """Fetch ``AUTONEWS_URLS`` (or the ``urls`` spider argument, comma separated) once each.

    The spider closes as soon as nothing is left (:class:`ClosesWhenDone`): Scrapy's own idle check
    would be most of the wall time of a scrape of one local file.
    """

    name = "scrape"

    def __init__(self, urls: str | list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = urls.split(",") if isinstance(urls, str) else list(urls or [])

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "ScrapeSpider":
        """Connect the signals after which the spider may be done, and the not-an-article names."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        connect_close_when_done(spider, crawler)
        crawler.signals.connect(spider.name_not_article, signal=signals.item_dropped)
        return spider

    def name_not_article(self, item: Any, exception: BaseException) -> None:
        """Remember the first few pages that were not articles, by file name or URL, for the summary line."""
        if not str(exception).startswith("not an article"):
            return
        names = self.crawler.stats.get_value(NOT_ARTICLE_NAMES) or []
        if len(names) < MAX_NAMED:
            url = ItemAdapter(item).get("url") or "?"
            path = local_path(url) if url.startswith("file:") else None
            self.crawler.stats.set_value(NOT_ARTICLE_NAMES, [*names, path.name if path is not None else url])

    async def start(self) -> AsyncIterator[Any]:
        """Yield one article request per URL and the page item of each local file, in the given order."""
        targets = self.targets or self.crawler.settings.getlist("AUTONEWS_URLS")
        for target in targets:
            path = local_path(target)
            if path is None:
                yield self.article_request(to_url(target), SOURCE)
                continue
            for item in self.read_file(path):
                yield item
        self.close_when_done()  # the last target may have finished before the engine saw this generator end

    def read_file(self, path: Path) -> Any:
        """Yield the page item of a local file, or count and log why it could not be read."""
        limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        try:
            body = read_capped(path, limit)
        except (OSError, ValueError) as exc:
            label = "too_large" if "DOWNLOAD_MAXSIZE" in str(exc) else "unreadable_file"
            count_error(self.crawler.stats, label, SOURCE)
            self.crawler.stats.inc_value("autonews/targets/done")  # progress of `autonews scrape`
            self.logger.warning("Cannot read %s: %s", path, exc)
            return
        uri = path.resolve().as_uri()
        request = scrapy.Request(uri, meta={"autonews_kind": "article", "autonews_source": SOURCE})
        yield from self.parse_article(HtmlResponse(url=uri, body=body, request=request))
