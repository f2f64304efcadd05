"""The backfill spider: WARC records instead of downloads, through the crawl's pipelines unchanged.

``autonews backfill`` (``crawler.cli.backfill``) runs it. It yields the same :class:`PageItem` a
crawl's article response becomes, with ``url`` = ``WARC-Target-URI``, ``fetched_at`` =
``WARC-Date`` and ``warc`` = where the record was read, so extraction, language, dedupe and sealed
storage (and the state, the manifest and the run report) are the crawl's.

Files are read in threads (``AUTONEWS_BACKFILL_CONCURRENT_FILES``, one or two: an archive host is
shared), each streaming its file through ``crawler.backfill.records``; the kept records come to the
reactor through a bounded queue (``crawler.backfill.handoff``), and at most ``AUTONEWS_BACKFILL_MAX_PENDING`` of them are in the
pipelines at once (Scrapy does not bound items yielded from ``start()``), so memory stays flat
whatever the file's size. Progress per file: ``crawler.backfill.progress``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import create_looping_call

from crawler.backfill.files import WarcFile
from crawler.backfill.handoff import Handoff
from crawler.backfill.starts import StartSchedule
from crawler.backfill.http import ArchiveClient, ArchiveError, client_from_settings
from crawler.backfill.plan import FilePlan, LocalPlan
from crawler.backfill.progress import COMMIT_SECONDS, FileRun, ProgressBook
from crawler.backfill.records import Candidate, FileScan, RecordReader
from crawler.backfill.select import SourceMatcher
from crawler.middlewares.failures import BlockedAddressError
from crawler.security.resolver import crawl_policy
from crawler.sources.configured import configured_sources
from crawler.spiders.base import NewsSpiderBase
from crawler.spiders.closing import ClosesWhenDone, connect_close_when_done
from pipelines.dedupe.urls import canonicalize_url
from pipelines.extract.html import looks_binary
from pipelines.items import PageItem, WarcOrigin
from pipelines.pool import cpu_pool
from pipelines.warm import warm_stages
from pipelines.language.codes import parse_declared
from pipelines.state.backend import open_store
from pipelines.stats import count_error
from pipelines.storage import signals as storage_signals

logger = logging.getLogger(__name__)

CONCURRENT_FILES = 2
"""WARC files read at once (``AUTONEWS_BACKFILL_CONCURRENT_FILES``)."""
MAX_PENDING = 64
"""Kept records in the pipelines at once (``AUTONEWS_BACKFILL_MAX_PENDING``)."""
START_JITTER = 1.0
"""Up to this many seconds (random) before the run opens its first remote file (``AUTONEWS_BACKFILL_JITTER``;
``crawler.backfill.starts``)."""
_THREAD_DONE = object()
_OUTCOME_COUNTERS = {"written": "articles", "duplicate": "duplicates", "dropped": "dropped", "error": "errors"}
"""A page's outcome in the pipelines, and the ``FileRun`` counter it adds to."""


class _FileEnd:
    """A reader thread is done with a file (read to the end, or given up)."""

    def __init__(self, run: FileRun) -> None:
        self.run = run


class BackfillSpider(ClosesWhenDone, NewsSpiderBase):
    """Read WARC files (spider argument ``files``, or the Redis queue) and yield their registry articles."""

    name = "backfill"
    start_is_shared = True
    """In worker mode every worker runs ``start()``: the WARC files are shared out by Redis
    (``crawler.backfill.distributed``), not by the seeding election of a crawl round."""

    def __init__(self, files: list[WarcFile] | None = None, reextract: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files = list(files or [])
        self.reextract = bool(reextract)
        self.runs: dict[str, FileRun] = {}
        self.in_flight = 0
        self.stop = threading.Event()
        self._room = asyncio.Event()
        self.book: ProgressBook | None = None
        self.plan: FilePlan | None = None
        self.sources: dict[str, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BackfillSpider:
        """Load the registry and connect the item and commit signals."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.sources = {s.name: s for s in configured_sources(settings)}
        spider.max_pending = max(1, settings.getint("AUTONEWS_BACKFILL_MAX_PENDING", MAX_PENDING))
        spider.concurrent = max(1, settings.getint("AUTONEWS_BACKFILL_CONCURRENT_FILES", CONCURRENT_FILES))
        spider.jitter = max(0.0, settings.getfloat("AUTONEWS_BACKFILL_JITTER", START_JITTER))
        spider.commit_seconds = max(0.5, settings.getfloat("AUTONEWS_BACKFILL_COMMIT_SECONDS", COMMIT_SECONDS))
        spider.skip_seen = settings.getbool("AUTONEWS_SKIP_SEEN", True)
        crawler.signals.connect(spider.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_error, signal=signals.item_error)
        crawler.signals.connect(spider.state_committed, signal=storage_signals.state_committed)
        crawler.signals.connect(spider.closed_signal, signal=signals.spider_closed)
        connect_close_when_done(spider, crawler)  # not 5 s of Scrapy's idle check after the last article
        return spider

    # -- start: records from the reader threads ------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        """Yield the page item of every kept record of every file not done yet."""
        self.book = ProgressBook(lambda: open_store(self.crawler), reextract=self.reextract)
        self.plan = self.plan or self.make_plan()
        if self.plan.total:
            cpu_pool(self.crawler).warm()  # the workers import while the first records are read
        stats = self.crawler.stats
        stats.set_value("autonews/backfill/files_total", self.plan.total)
        stats.set_value("autonews/backfill/files_skipped_done", self.plan.skipped_done)
        matcher = SourceMatcher(list(self.sources.values()))
        loop = asyncio.get_running_loop()
        handoff = Handoff(loop, self.max_pending, self.stop)
        starts = StartSchedule(self.jitter, self.concurrent)
        threads = [threading.Thread(target=self.read_files, args=(matcher, handoff, starts, n), daemon=True,
                                    name=f"warc-reader-{n}") for n in range(self.concurrent)]
        for thread in threads:
            thread.start()
        if self.plan.total:
            warm_stages()  # while the readers wait for their jittered start, not while they read
        timer = create_looping_call(self.request_commit)
        timer.start(self.commit_seconds, now=False)
        live = len(threads)
        try:
            while live:
                event = await handoff.get()
                if event is _THREAD_DONE:
                    live -= 1
                elif isinstance(event, FileRun):
                    self.runs[event.wfile.name] = event
                    self.book.begin(event)
                elif isinstance(event, _FileEnd):
                    self.file_ended(event.run)
                else:
                    candidate, run = event
                    item = self.page_item(candidate, run)
                    if item is None:
                        run.scan.release(candidate.offset)
                        continue
                    while self.in_flight >= self.max_pending:
                        self._room.clear()
                        await self._room.wait()
                    self.in_flight += 1
                    yield item
        finally:
            if timer.running:
                timer.stop()
            self.stop.set()
        self.close_when_done()  # the last article may be through before the engine sees this generator end

    def make_plan(self) -> FilePlan:
        """The files to read and where each resumes (the Redis queue in worker mode)."""
        assert self.book is not None
        settings = self.crawler.settings
        if settings.get("AUTONEWS_REDIS_URL"):
            from crawler.backfill.distributed import RedisPlan  # the redis client: worker mode only

            plan = RedisPlan.from_settings(settings, self.files)
            plan.stop = self.stop
            return plan
        self.book.load()
        return LocalPlan(self.files, self.book)

    def read_files(self, matcher: SourceMatcher, handoff: Handoff, starts: StartSchedule, reader: int) -> None:
        """A reader thread (number ``reader``): take files from the plan and hand their kept records to the
        reactor; the first remote file waits its jittered start (``starts``)."""
        assert self.plan is not None
        first_file = True
        try:
            while not self.stop.is_set():
                taken = self.plan.take()
                if taken is None:
                    return
                wfile, offset, size = taken
                if wfile.remote:
                    if self.stop.wait(starts.delay(reader, first_file)):
                        return
                    first_file = False
                run = FileRun(wfile, FileScan(start=offset, frontier=offset), size=size)
                if not handoff.put(run):
                    return
                self.read_one(run, matcher, handoff)
                if not handoff.put(_FileEnd(run)):
                    return
        except Exception:  # noqa: BLE001 - a reader's bug must end the run cleanly, not hang it
            logger.exception("WARC reader failed")
            handoff.loop.call_soon_threadsafe(self.crawler.stats.inc_value, "autonews/errors/backfill_reader")
        finally:
            handoff.put(_THREAD_DONE, force=True)

    def read_one(self, run: FileRun, matcher: SourceMatcher, handoff: Handoff) -> None:
        """Stream one file's records; a file that cannot be read is counted and left partial."""
        wfile, scan = run.wfile, run.scan
        client = self.client(handoff.loop)
        if wfile.remote:
            def opener(offset: int) -> Any:
                stream = client.stream(wfile.location, offset)
                run.size = run.size or stream.total  # known once it is opened (Content-Range / -Length)
                return _SizeNoting(stream, run)
        else:
            def opener(offset: int) -> Any:
                stream = open_local(wfile.location, offset)
                run.size = os.fstat(stream.fileno()).st_size
                return stream
        reader = RecordReader(opener, matcher, self.crawler.settings.getint("DOWNLOAD_MAXSIZE"), scan,
                              gzipped=wfile.location.endswith(".gz"), stop=self.stop)
        try:
            for candidate in reader.records(scan.start):
                if not handoff.put((candidate, run)):
                    scan.release(candidate.offset)
                    return
        except BlockedAddressError as exc:
            scan.failed = "blocked_address"
            logger.error("Refused WARC file %s: %s (allow it with AUTONEWS_PRIVATE_HOSTS if it is yours)",
                         wfile.name, exc)
        except ArchiveError as exc:
            scan.failed = exc.label
            logger.error("Could not read WARC file %s: %s", wfile.name, exc)
        except (OSError, ValueError) as exc:
            scan.failed = "unreadable_file"
            logger.error("Could not read WARC file %s: %s", wfile.name, exc)
        scan.finished = True

    def client(self, loop: asyncio.AbstractEventLoop) -> ArchiveClient:
        """The HTTP client of a reader thread (guarded like every crawl request)."""
        settings = self.crawler.settings
        stats = self.crawler.stats

        def on_retry(label: str) -> None:
            loop.call_soon_threadsafe(stats.inc_value, f"autonews/backfill/retries/{label}")

        return client_from_settings(settings, crawl_policy(self.crawler), on_retry)

    # -- records to items ----------------------------------------------------------------
    def page_item(self, candidate: Candidate, run: FileRun) -> PageItem | None:
        """The page item of a kept record; None (counted) when it is already stored or not a document."""
        stats = self.crawler.stats
        source = candidate.source
        stats.inc_value("autonews/pages/article")
        stats.inc_value(f"autonews/source/{source.name}/pages")
        if self.skip_seen and not self.reextract and open_store(self.crawler).has_url(canonicalize_url(candidate.url)):
            stats.inc_value("autonews/skipped/seen_url")
            run.duplicates += 1
            return None
        body = candidate.body
        problem = "empty_body" if not body.strip() else "binary_body" if looks_binary(body) else None
        if problem:
            count_error(stats, problem, source.name)
            run.errors += 1
            return None
        stats.inc_value(f"autonews/source/{source.name}/new")
        return PageItem(
            url=candidate.url,
            request_url=candidate.url,
            source=source.name,
            body=body,
            fetched_at=candidate.fetched_at,
            encoding=candidate.charset,
            content_languages=parse_declared([candidate.content_language]),
            expected_language=source.language,
            source_domains=source.domains(),
            etag=candidate.etag,
            last_modified=candidate.last_modified,
            recheck=self.reextract,
            warc=WarcOrigin(run.wfile.name, candidate.record_id, candidate.offset),
        )

    # -- item outcomes and progress ------------------------------------------------------
    def _finished_item(self, item: Any, outcome: str) -> None:
        """A yielded page left the pipelines (``written``, ``duplicate``, ``dropped`` or ``error``)."""
        origin = item.get("warc") if isinstance(item, dict) else getattr(item, "warc", None)
        if isinstance(origin, dict):
            name, offset = origin.get("file"), origin.get("offset")
        elif isinstance(origin, WarcOrigin):
            name, offset = origin.file, origin.offset
        else:
            return
        run = self.runs.get(name or "")
        if run is None:
            return
        counter = _OUTCOME_COUNTERS[outcome]
        setattr(run, counter, getattr(run, counter) + 1)
        run.scan.release(int(offset))
        self.in_flight -= 1
        self._room.set()
        if run.scan.finished and run.scan.in_flight() == 0:
            self.request_commit()

    def item_scraped(self, item: Any) -> None:
        """An article was written."""
        self._finished_item(item, "written")

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        """A page was dropped (not an article, a duplicate, ...)."""
        self._finished_item(item, "duplicate" if str(exception).startswith(("duplicate", "near_duplicate")) else "dropped")

    def item_error(self, item: Any) -> None:
        """A pipeline failed on a page."""
        self._finished_item(item, "error")

    def file_ended(self, run: FileRun) -> None:
        """A reader is done with a file: count it; its progress is saved once its records are through."""
        scan = run.scan
        stats = self.crawler.stats
        if scan.failed:  # a file is no source's: counted globally only
            stats.inc_value(f"autonews/errors/warc_{scan.failed}")
            stats.inc_value("autonews/errors/total")
            stats.inc_value("autonews/backfill/files_failed")
        if scan.corrupt:
            stats.inc_value("autonews/errors/corrupt_record", scan.corrupt)
            stats.inc_value("autonews/errors/total", scan.corrupt)
        if scan.too_large:
            stats.inc_value("autonews/errors/too_large", scan.too_large)
            stats.inc_value("autonews/errors/total", scan.too_large)
        self.request_commit()

    def request_commit(self) -> None:
        """Ask the storage pipeline to commit (the book saves progress behind it) and refresh the counters."""
        self.update_stats()
        if self.book is not None and self.book.active:
            self.crawler.signals.send_catch_log(storage_signals.commit_requested)

    def state_committed(self) -> None:
        """Save the files' progress behind the commit that just happened."""
        if self.book is not None:
            self.book.committed()
            if self.plan is not None:
                for run in self.book.take_finished():
                    self.plan.finish(run.wfile, run.done())
            self.update_stats()

    def update_stats(self) -> None:
        """The backfill's totals and per-file counts in the stats (progress line, run report)."""
        if self.book is None:
            return
        stats = self.crawler.stats
        runs = self.book.all_runs()
        stats.set_value("autonews/backfill/files_done", self.plan.skipped_done + sum(r.done() for r in runs)
                        if self.plan is not None else 0)
        stats.set_value("autonews/backfill/records_scanned", sum(r.scan.scanned for r in runs))
        stats.set_value("autonews/backfill/records_kept", sum(r.scan.kept for r in runs))
        stats.set_value("autonews/backfill/bytes", sum(r.report()["bytes"] for r in runs))
        stats.set_value("autonews/backfill/files", [r.report() for r in runs])

    def closed_signal(self) -> None:
        """Stop the reader threads."""
        self.stop.set()
        self.update_stats()


class _SizeNoting:
    """A remote stream that notes the file's size on the run once the first response tells it."""

    def __init__(self, stream: Any, run: FileRun) -> None:
        self.stream = stream
        self.run = run

    def read(self, size: int = -1) -> bytes:
        """Read from the stream; note the size."""
        data = self.stream.read(size)
        if self.run.size is None:
            self.run.size = self.stream.total
        return data

    def tell(self) -> int:
        """The stream's absolute offset."""
        return self.stream.tell()

    def close(self) -> None:
        """Close the stream."""
        self.stream.close()


def open_local(path: str, offset: int) -> BinaryIO:
    """A local WARC file opened at ``offset`` (a regular file only: never a device or a FIFO)."""
    fh = open(path, "rb")
    try:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ValueError(f"{path}: not a regular file")
        fh.seek(offset)
    except BaseException:
        fh.close()
        raise
    return fh
