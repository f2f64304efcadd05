"""Downloader middleware: the WARC archive of every article page ``crawl`` and ``scrape`` fetch.

Enabled by ``AUTONEWS_WARC_ARCHIVE`` (off by default). It sits below HTTP compression (590) and the
redirect middlewares, so it sees each final response with its body decoded, as the spider does; only
article requests (``meta["autonews_kind"] == "article"``) are archived, not feeds, sitemaps or robots.txt.
The files and their sealing: ``pipelines.storage.warcarchive``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from pipelines.record import SCHEMA_VERSION
from pipelines.stats import count_error
from pipelines.storage.manifest import Manifest, ManifestError
from pipelines.storage.pipeline import crawl_run_id
from pipelines.storage.warcarchive import MAX_BYTES, Exchange, WarcArchive, recover_warc_parts

logger = logging.getLogger(__name__)


def _pairs(headers: object) -> list[tuple[str, str]]:
    """Scrapy headers (bytes names, lists of bytes values) as (name, value) strings, repeats kept."""
    pairs = []
    for name, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


class WarcArchiveMiddleware:
    """Write the request and response of every fetched article page to the run's WARC files."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("AUTONEWS_OUTPUT_DIR") or "output")
        self.manifest = Manifest(self.root, SCHEMA_VERSION)
        self.archive = WarcArchive(self.root, crawl_run_id(crawler), self.manifest,
                                   settings.getint("AUTONEWS_WARC_ARCHIVE_MAX_BYTES", MAX_BYTES))
        self.broken = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        """Build the middleware; NotConfigured unless ``AUTONEWS_WARC_ARCHIVE``."""
        if not crawler.settings.getbool("AUTONEWS_WARC_ARCHIVE", False):
            raise NotConfigured  # no message: off by default, not worth a WARNING on every run
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        """Seal what a killed run left behind."""
        try:
            recovered = recover_warc_parts(self.root, self.manifest)
        except (OSError, ManifestError) as exc:
            logger.error("Could not recover the WARC files of an interrupted run: %s", exc)
            return
        if recovered:
            self.crawler.stats.inc_value("autonews/recovered/warc_files", recovered)

    def process_response(self, request: Request, response: Response, spider: object = None) -> Response:
        """Archive an article response; always return it unchanged."""
        if request.meta.get("autonews_kind") != "article" or self.broken:
            return response
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        exchange = Exchange(url=response.url, method=request.method, request_headers=_pairs(request.headers),
                            status=status, reason=reason, response_headers=_pairs(response.headers),
                            body=response.body, fetched_at=datetime.now(timezone.utc))
        try:
            self.archive.write(exchange)
        except OSError as exc:  # the articles still go on: the archive is a copy, not the output
            self.broken = True
            count_error(self.crawler.stats, "warc_archive", request.meta.get("autonews_source", "oneoff"))
            logger.error("Cannot write the WARC archive under %s: %s", self.root, exc)
            return response
        self.crawler.stats.inc_value("autonews/warc_archive/pages")
        return response

    def spider_closed(self) -> None:
        """Seal the run's WARC files and list them in the manifest."""
        try:
            self.archive.close()
        except OSError as exc:
            count_error(self.crawler.stats, "warc_archive", "oneoff")
            logger.error("Cannot seal the WARC archive under %s: %s", self.root, exc)
