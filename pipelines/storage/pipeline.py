"""Storage pipeline: sealed JSON Lines under ``<output>/articles/<YYYY-MM-DD>/``.

The dedupe state is committed only after the lines it covers are fsynced, so
an article is never marked as seen before it is durably written.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from pipelines.dedupe.journal import NOT_ARTICLE, DropJournal, DroppedCopy
from pipelines.dedupe.pipeline import DuplicateDropped
from pipelines.dedupe.urls import canonicalize_url
from pipelines.extract.pipeline import NotAnArticle
from pipelines.items import Article, PageItem
from pipelines.record import SCHEMA_VERSION, build_record, record_line
from pipelines.state.backend import close_store, is_redis_store, open_store
from pipelines.state.store import DedupeStore
from pipelines.stats import count_error
from pipelines.storage.manifest import Manifest
from pipelines.storage.naming import day_dir, file_stem, run_id
from pipelines.storage.recovery import recover
from pipelines.storage.safefs import clean_stale_temps, touch_probe
from pipelines.storage import signals as storage_signals
from pipelines.storage.sealed import COMMIT_EVERY, SEAL_EVERY_ITEMS, SEAL_EVERY_SECONDS, SealedFile

if TYPE_CHECKING:
    from pipelines.state.redis_store import RedisStore

logger = logging.getLogger(__name__)


def crawl_run_id(crawler: Crawler) -> str:
    """Return the crawl's run id, made once and shared by the output files and the run report."""
    if not hasattr(crawler, "_autonews_run_id"):
        crawler._autonews_run_id = run_id(crawler.settings.get("AUTONEWS_WORKER_ID", ""))
    return crawler._autonews_run_id


class StoragePipeline:
    """Write records to sealed ``*.jsonl`` files and commit the dedupe state behind them."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.root = Path(settings.get("AUTONEWS_OUTPUT_DIR") or "output")
        self.every_items = settings.getint("AUTONEWS_SEAL_EVERY_ITEMS", SEAL_EVERY_ITEMS)
        self.every_seconds = settings.getfloat("AUTONEWS_SEAL_EVERY_SECONDS", SEAL_EVERY_SECONDS)
        self.commit_every = settings.getint("AUTONEWS_COMMIT_EVERY", COMMIT_EVERY)
        self.run_id = crawl_run_id(crawler)
        self.manifest = Manifest(self.root, SCHEMA_VERSION)
        self.files: dict[tuple[str, str], SealedFile] = {}
        self.seq = 0
        self.uncommitted = 0
        self.broken = False
        self._timer = task.LoopingCall(self.seal_due)
        self.journal = DropJournal(self.root, self.run_id)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoragePipeline":
        """Build the pipeline from ``AUTONEWS_OUTPUT_DIR`` and the sealing settings."""
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(pipeline.commit_requested, signal=storage_signals.commit_requested)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        """Journal a copy the dedupe stage dropped: a state rebuilt from the output then skips its URLs too."""
        if self.broken:
            return
        if isinstance(exception, DuplicateDropped) and not exception.recheck:
            copy = exception.copy
        elif isinstance(exception, NotAnArticle) and isinstance(item, PageItem) and not item.recheck:
            # remembered in the state too (crawler.middlewares.seen), for AUTONEWS_NOT_ARTICLE_DAYS
            url = canonicalize_url(item.url)
            copy = DroppedCopy(url, tuple({canonicalize_url(item.request_url or item.url)} - {url}), "", NOT_ARTICLE,
                               datetime.now(timezone.utc).isoformat(timespec="seconds"))
        else:
            return
        try:
            self.journal.record(copy)
        except OSError as exc:  # the page is fetched (and dropped) once more after a rebuild: no loss
            logger.warning("Cannot journal the dropped page %s: %s", copy.canonical_url, exc)

    @property
    def store(self) -> DedupeStore:
        """The crawl's dedupe store (shared with the dedupe pipeline)."""
        return open_store(self.crawler)

    def open_spider(self) -> None:
        """Recover what a killed run left behind (``.part`` files, missing manifest lines), then start the sealing timer."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            touch_probe(self.root, ".write-test")  # never opens an existing name (a planted link)
            clean_stale_temps(self.root)  # temporary files of killed earlier writers (report.html...)
            recover(self.root, self.store, self.crawler.stats)
            repaired = self.manifest.repair()  # also lists the files recovery has just sealed
        except OSError as exc:  # a link or a FIFO in the manifest's place too: never written through
            self.fail(exc)
            return
        self.count_skipped_lines()
        if repaired:
            self.crawler.stats.inc_value("autonews/manifest/repaired", len(repaired))
            logger.warning("Listed %d sealed file(s) missing from the manifest", len(repaired))
        self._timer.start(min(60.0, max(1.0, self.every_seconds)), now=False)

    def count_skipped_lines(self) -> None:
        """Count the garbled manifest lines met since the last call (skipped and logged, never obeyed nor fatal)."""
        new = self.manifest.skipped - self.crawler.stats.get_value("autonews/errors/manifest_line", 0)
        if new > 0:
            self.crawler.stats.inc_value("autonews/errors/manifest_line", new)
            self.crawler.stats.inc_value("autonews/errors/total", new)

    def fail(self, exc: OSError) -> None:
        """Stop the crawl on an unwritable output; the state is not advanced."""
        self.broken = True
        self.crawler.stats.inc_value("autonews/errors/storage")
        self.crawler.stats.inc_value("autonews/errors/total")
        logger.error("Output %s is not writable: %s", self.root, exc)
        self.store.rollback()
        from twisted.internet import reactor  # imported late: Scrapy installs the reactor

        # Closing from inside open_spider or process_item must wait a tick.
        reactor.callLater(0, self._close_crawl)

    def _close_crawl(self) -> None:
        if self.crawler.crawling:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="output_not_writable"))

    def process_item(self, item: Article) -> dict[str, Any]:
        """Append the article's record to today's file for its route; return the record.

        A record that cannot be written (schema violation, unencodable text, any error before its
        line is out) gives its article back to the state (:meth:`reject`); an unwritable output
        stops the crawl (:meth:`fail`).
        """
        if self.broken:
            raise DropItem("output not writable")
        day = item.fetched_at[:10] or datetime.now(timezone.utc).date().isoformat()
        try:
            record = build_record(item)
            line = record_line(record)
            sealed = self.file_for(item.route, day)
            sealed.write_line(line)
        except OSError as exc:
            self.fail(exc)
            raise DropItem(f"output not writable: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - whatever it was, the article must not be lost
            self.reject(item, exc)
        try:
            self.uncommitted += 1
            if sealed.lines >= self.every_items:
                self.seal((item.route, day))
            elif self.uncommitted >= self.commit_every:
                self.commit()
        except OSError as exc:
            self.fail(exc)
            raise DropItem(f"output not writable: {exc}") from None
        self.crawler.stats.inc_value("autonews/written")
        self.crawler.stats.inc_value(f"autonews/source/{item.source}/written")
        return record

    def reject(self, item: Article, exc: Exception) -> NoReturn:
        """Give an article whose record could not be written back to the state (not seen, so it is
        fetched again next run), count the error and drop it."""
        self.store.release(item.canonical_url or item.url)
        count_error(self.crawler.stats, "record", item.source)
        logger.error("Cannot write the record of %s (it will be fetched again next run): %s", item.url, exc)
        raise DropItem(f"unwritable record ({type(exc).__name__}): {item.url}")

    def file_for(self, route: str, day: str) -> SealedFile:
        """Return the open file for a route and day, opening a new one if needed."""
        key = (route, day)
        if key not in self.files:
            self.seq += 1
            self.files[key] = SealedFile(day_dir(self.root, route, day), file_stem(self.run_id, self.seq))
        return self.files[key]

    def commit(self) -> None:
        """fsync every open file, then commit the dedupe state that covers them."""
        for sealed in self.files.values():
            sealed.sync()
        self.store.commit()
        self.uncommitted = 0
        self.crawler.signals.send_catch_log(storage_signals.state_committed)

    def commit_requested(self) -> None:
        """Commit now because another component asked (:data:`pipelines.storage.signals.commit_requested`)."""
        if self.broken:
            return
        try:
            self.commit()
        except OSError as exc:
            self.fail(exc)

    def seal(self, key: tuple[str, str]) -> None:
        """Seal one file: fsync, commit the state, publish it as ``.jsonl``, then list it in the manifest.

        In this order a kill at any point leaves either a ``.part`` (recovered and
        recorded by the next run) or a published file whose articles are recorded
        (and which the next run lists in the manifest if this one could not).
        """
        sealed = self.files.pop(key)
        sealed.close()
        self.store.commit()
        self.uncommitted = 0
        self.crawler.signals.send_catch_log(storage_signals.state_committed)
        path = sealed.publish()
        if path is not None:
            self.manifest.append([path])
            self.count_skipped_lines()
            self.crawler.stats.inc_value("autonews/sealed_files")
            logger.info("Sealed %s", path)

    def seal_due(self) -> None:
        """Seal files that have been open longer than ``AUTONEWS_SEAL_EVERY_SECONDS``."""
        now = time.monotonic()
        for key in [k for k, f in self.files.items() if now - f.opened >= self.every_seconds]:
            try:
                self.seal(key)
            except OSError as exc:
                self.fail(exc)

    def spider_idle(self) -> None:
        """Commit while the crawl waits, so a slow tail does not hold back the state."""
        if self.uncommitted and not self.broken:
            self.commit()

    def close_spider(self) -> None:
        """Seal everything, commit the state and close it."""
        if self._timer.running:
            self._timer.stop()
        store = self.store
        try:
            for key in list(self.files):
                self.seal(key)
        except OSError as exc:
            self.fail(exc)
        if not self.broken:
            # What the run recorded besides written articles (copies' URLs, re-fetch checks, pages that
            # are not articles) is kept even when no file was sealed: every written line is durable by now.
            store.commit()
        if is_redis_store(store):  # claims found taken over at commit (a worker stalled too long)
            self.crawler.stats.set_value("autonews/distributed/lost_claims", cast("RedisStore", store).lost_claims)
        close_store(self.crawler)
        try:
            self.journal.close()
        except OSError as exc:
            logger.warning("Cannot close the drop journal %s: %s", self.journal.path, exc)
