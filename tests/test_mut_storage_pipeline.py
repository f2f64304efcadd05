"""The storage stage in-process (pipelines.storage.pipeline): settings, timing of commits and seals, failures.

The CLI tests run crawls in a subprocess, which the mutation run cannot see (issue 25). Here each setting
reaches the decision it names (commit every N articles, seal after N seconds, the output directory), the
sealing timer fires on its own interval, the state is committed exactly when the stage says it is (counted
by ``state_committed``), dropped copies and non-articles are journaled for a rebuild, and every failure
(unwritable output, a record that cannot be written, a journal that cannot be closed) is counted and logged.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from twisted.internet import task

from pipelines.dedupe.journal import NOT_ARTICLE, DroppedCopy, read_journal
from pipelines.dedupe.pipeline import DedupePipeline, DuplicateDropped
from pipelines.extract.pipeline import NotAnArticle
from pipelines.items import Article
from pipelines.record import SCHEMA_VERSION
from pipelines.state.backend import close_store
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.storage import pipeline as storage_module
from pipelines.storage import sealed as sealed_module
from pipelines.storage import signals as storage_signals
from pipelines.storage.manifest import read_manifest
from pipelines.storage.pipeline import StoragePipeline, crawl_run_id
from pipelines.storage.sealed import SEAL_EVERY_SECONDS
from tests.conftest import make_article, make_page

DAY = "2026-11-21"


def article(n: int, **extra: Any) -> Article:
    values: dict[str, Any] = {"source": "site", "title": f"Story {n}", "fetched_at": f"{DAY}T10:00:00+00:00",
                              "canonical_url": f"https://news.example/{n}", "fingerprint": f"{n:032x}"}
    values.update(extra)
    return make_article(f"https://news.example/{n}", f"Text of story {n}. " * 30, **values)


class Run:
    """One crawl's storage stage on ``tmp_path/out``, counting the ``state_committed`` signals."""

    def __init__(self, tmp_path: Path, open_now: bool = True, **settings: Any) -> None:
        self.out = tmp_path / "out"
        self.crawler: Crawler = get_crawler(settings_dict={
            "AUTONEWS_OUTPUT_DIR": str(self.out), "AUTONEWS_STATE": str(tmp_path / "state.sqlite3"), **settings})
        self.storage = StoragePipeline.from_crawler(self.crawler)
        self.commits = 0
        self.crawler.signals.connect(self._committed, signal=storage_signals.state_committed)
        if open_now:
            self.storage.open_spider()

    def _committed(self) -> None:
        self.commits += 1

    def stat(self, key: str) -> Any:
        return self.crawler.stats.get_value(f"autonews/{key}")

    def close(self) -> None:
        if self.storage._timer.running:
            self.storage._timer.stop()
        close_store(self.crawler)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Any]:
    made: list[Run] = []

    def make(**settings: Any) -> Run:
        made.append(Run(tmp_path, **settings))
        return made[-1]

    yield make
    for run in made:
        run.close()


def committed_urls(tmp_path: Path) -> set[str]:
    """The article URLs another process sees in the state (only committed ones)."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    try:
        return {f"https://news.example/{n}" for n in range(20) if store.has_url(f"https://news.example/{n}")}
    finally:
        store.close()


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pipelines.storage.pipeline"]


# --- files, names and settings ---------------------------------------------------------------------------

def test_files_are_named_after_the_run_and_numbered_from_one(runs: Any) -> None:
    run = runs(AUTONEWS_WORKER_ID="w7", AUTONEWS_SEAL_EVERY_ITEMS=1)
    run_id = crawl_run_id(run.crawler)
    assert crawl_run_id(run.crawler) == run_id == run.storage.run_id  # made once, shared
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-w7-{os.getpid()}", run_id)
    for n in range(3):
        run.storage.process_item(article(n))
    run.storage.process_item(article(3, route="non-english"))
    names = sorted(p.relative_to(run.out).as_posix() for p in run.out.glob("articles*/*/*.jsonl"))
    assert names == [f"articles-non-english/{DAY}/{run_id}-00004.jsonl",
                     *(f"articles/{DAY}/{run_id}-{n:05d}.jsonl" for n in (1, 2, 3))]
    assert run.stat("written") == 4 and run.stat("source/site/written") == 4 and run.stat("sealed_files") == 4


def test_the_stage_listens_to_idle_drops_and_commit_requests(runs: Any) -> None:
    """Handlers are called directly in this module (mutmut's wrappers hide their signatures from pydispatch)."""
    from pydispatch.dispatcher import getAllReceivers, liveReceivers

    run = runs()
    for signal, handler in ((signals.spider_idle, run.storage.spider_idle),
                            (signals.item_dropped, run.storage.item_dropped),
                            (storage_signals.commit_requested, run.storage.commit_requested)):
        receivers = list(liveReceivers(getAllReceivers(run.crawler.signals.sender, signal)))
        assert handler in receivers, signal


def test_the_run_id_is_made_once_per_crawl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[str] = []
    monkeypatch.setattr(storage_module, "run_id", lambda worker: made.append(worker) or f"run{len(made)}-{worker}")
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(tmp_path / "s.sqlite3")})
    assert crawl_run_id(crawler) == crawl_run_id(crawler) == "run1-"  # no worker id: run_id names the host
    assert made == [""]


def test_the_output_directory_defaults_to_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(tmp_path / "s.sqlite3")})
    assert StoragePipeline(crawler).root == Path("output")


def test_a_missing_output_directory_is_made_with_its_parents(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "out"
    crawler = get_crawler(settings_dict={"AUTONEWS_OUTPUT_DIR": str(deep), "AUTONEWS_STATE": str(tmp_path / "s.db")})
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    try:
        assert not storage.broken and deep.is_dir()
    finally:
        storage._timer.stop()
        close_store(crawler)


def test_the_state_is_committed_every_n_articles(runs: Any, tmp_path: Path) -> None:
    run = runs(AUTONEWS_COMMIT_EVERY=2)
    run.storage.process_item(article(1))
    assert run.commits == 0 and committed_urls(tmp_path) == set()
    run.storage.process_item(article(2))
    assert run.commits == 1 and run.storage.uncommitted == 0
    run.storage.process_item(article(3))
    assert run.commits == 1 and run.storage.uncommitted == 1
    run.storage.process_item(article(4))
    assert run.commits == 2


def test_by_default_the_state_is_committed_every_25_articles(runs: Any) -> None:
    run = runs()
    for n in range(24):
        run.storage.process_item(article(n % 20, canonical_url=f"https://news.example/x{n}"))
    assert run.commits == 0 and run.storage.uncommitted == 24
    run.storage.process_item(article(1, canonical_url="https://news.example/last"))
    assert run.commits == 1


def test_sealing_commits_and_restarts_the_count(runs: Any) -> None:
    run = runs(AUTONEWS_COMMIT_EVERY=2, AUTONEWS_SEAL_EVERY_ITEMS=2)
    run.storage.process_item(article(1))
    run.storage.process_item(article(2))  # sealed: one commit, the count starts again
    assert run.commits == 1 and run.storage.uncommitted == 0
    run.storage.process_item(article(3))
    assert run.commits == 1


def test_idle_commits_only_what_is_uncommitted(runs: Any) -> None:
    run = runs()
    run.storage.spider_idle()
    assert run.commits == 0
    run.storage.process_item(article(1))
    run.storage.spider_idle()
    assert run.commits == 1 and run.storage.uncommitted == 0
    run.storage.spider_idle()
    assert run.commits == 1
    run.storage.process_item(article(2))
    run.storage.broken = True
    run.storage.spider_idle()
    assert run.commits == 1


def test_a_commit_asked_for_by_another_component(runs: Any, tmp_path: Path) -> None:
    run = runs()
    run.storage.process_item(DedupePipeline.from_crawler(run.crawler).process_item(article(1)))
    run.storage.commit_requested()
    assert run.commits == 1 and committed_urls(tmp_path) == {"https://news.example/1"}
    run.storage.broken = True
    run.storage.commit_requested()
    assert run.commits == 1


class FullDisk:
    """A file whose writes fail as on a full disk."""

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    flush = write

    def fileno(self) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        pass


def _cancel_close_calls(storage: StoragePipeline) -> list[float]:
    """Cancel the delayed ``_close_crawl`` calls :meth:`fail` scheduled; return their delays."""
    from twisted.internet import reactor

    delays = []
    for call in reactor.getDelayedCalls():
        if getattr(call.func, "__func__", None) is StoragePipeline._close_crawl and call.func.__self__ is storage:
            delays.append(call.getTime() - reactor.seconds())
            call.cancel()
    return delays


def test_a_failed_commit_stops_the_crawl(runs: Any, caplog: pytest.LogCaptureFixture) -> None:
    run = runs(AUTONEWS_COMMIT_EVERY=100)
    run.storage.process_item(article(1))
    run.storage.files[("", DAY)]._fh = FullDisk()
    with caplog.at_level(logging.ERROR, logger="pipelines.storage.pipeline"):
        run.storage.commit_requested()
    assert run.storage.broken and run.stat("errors/storage") == 1 and run.stat("errors/total") == 1
    assert log_lines(caplog) == [f"Output {run.out} is not writable: [Errno 28] No space left on device"]
    delays = _cancel_close_calls(run.storage)
    assert len(delays) == 1 and delays[0] < 0.5  # at the next tick
    with pytest.raises(DropItem) as dropped:
        run.storage.process_item(article(2))
    assert str(dropped.value) == "output not writable"


def test_a_failed_write_drops_the_item_with_the_reason(runs: Any, caplog: pytest.LogCaptureFixture) -> None:
    run = runs(AUTONEWS_COMMIT_EVERY=100)
    run.storage.process_item(article(1))
    run.storage.files[("", DAY)]._fh = FullDisk()
    with pytest.raises(DropItem) as dropped:
        run.storage.process_item(article(2))
    assert str(dropped.value) == "output not writable: [Errno 28] No space left on device"
    assert run.storage.broken
    assert log_lines(caplog) == [f"Output {run.out} is not writable: [Errno 28] No space left on device"]
    _cancel_close_calls(run.storage)


def test_a_failed_seal_after_the_write_drops_the_item_with_the_reason(runs: Any, monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    run = runs(AUTONEWS_SEAL_EVERY_ITEMS=1)

    def full(key: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run.storage, "seal", full)
    with pytest.raises(DropItem) as dropped:
        run.storage.process_item(article(1))
    assert str(dropped.value) == "output not writable: [Errno 28] No space left on device"
    assert run.storage.broken and run.stat("written") is None
    assert log_lines(caplog) == [f"Output {run.out} is not writable: [Errno 28] No space left on device"]
    _cancel_close_calls(run.storage)


def test_closing_the_crawl_after_a_failure(runs: Any) -> None:
    run = runs()
    reasons: list[str] = []

    async def close_spider_async(reason: str) -> None:
        reasons.append(reason)

    run.crawler.engine = SimpleNamespace(close_spider_async=close_spider_async)
    run.crawler.crawling = False
    run.storage._close_crawl()
    assert reasons == []  # the crawl is already over
    run.crawler.crawling = True
    run.storage._close_crawl()
    assert reasons == ["output_not_writable"]


def test_a_record_that_cannot_be_written_is_given_back_to_the_state(tmp_path: Path, runs: Any,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    run = runs()
    dedupe = DedupePipeline.from_crawler(run.crawler)
    bad = make_article("https://news.example/bad?utm_source=feed", "Some text. " * 40, source="site", version=0,
                       canonical_hint="https://news.example/bad-story")  # schema: version >= 1
    with caplog.at_level(logging.ERROR, logger="pipelines.storage.pipeline"):
        with pytest.raises(DropItem) as dropped:
            run.storage.process_item(dedupe.process_item(bad))
    assert str(dropped.value) == "unwritable record (RecordError): https://news.example/bad?utm_source=feed"
    assert not run.storage.store.has_url("https://news.example/bad-story")  # its claim released: fetched again
    assert not run.storage.store.has_url("https://news.example/bad")
    assert (run.stat("errors/record"), run.stat("errors/total"), run.stat("source/site/errors"),
            run.stat("source/site/errors/record")) == (1, 1, 1, 1)
    (message,) = log_lines(caplog)
    assert message.startswith("Cannot write the record of https://news.example/bad?utm_source=feed (it will be fetched "
                              "again next "
                              "run): version: 0 is less than the minimum of 1")
    assert not run.storage.broken and run.stat("written") is None


def test_an_article_without_fetch_time_goes_to_todays_utc_directory(runs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hour = datetime.now(timezone.utc).hour
    monkeypatch.setenv("TZ", "WEST12" if hour < 12 else "EAST-14")  # the local date is not the UTC date
    time.tzset()
    try:
        run = runs()
        run.storage.process_item(article(1, fetched_at=""))
        assert list(run.storage.files) == [("", datetime.now(timezone.utc).date().isoformat())]
    finally:
        monkeypatch.undo()
        time.tzset()


# --- sealing by age ---------------------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> task.Clock:
    """A clock driving the sealing timer and the monotonic time both storage modules read."""
    fake = task.Clock()
    fake.advance(1000)
    monotonic = SimpleNamespace(monotonic=fake.seconds)
    monkeypatch.setattr(storage_module, "time", monotonic)
    monkeypatch.setattr(sealed_module, "time", monotonic)
    return fake


def timed_run(tmp_path: Path, clock: task.Clock, **settings: Any) -> Run:
    run = Run(tmp_path, open_now=False, **settings)
    run.storage._timer.clock = clock
    run.storage.open_spider()
    return run


def sealed_names(run: Run) -> list[str]:
    return sorted(p.name for p in run.out.glob("articles/*/*.jsonl"))


def test_files_are_sealed_once_open_for_the_set_time(tmp_path: Path, clock: task.Clock) -> None:
    run = timed_run(tmp_path, clock, AUTONEWS_SEAL_EVERY_SECONDS=100)
    try:
        run.storage.process_item(article(1))
        clock.advance(60)  # the timer runs every 60 s at most; the file is 60 s old
        assert sealed_names(run) == []
        clock.advance(40)
        run.storage.seal_due()  # exactly 100 s old: due
        assert len(sealed_names(run)) == 1 and run.commits == 1
    finally:
        run.close()


# 100 s: the timer runs every 60 s at most, so its second tick (120 s) seals; 0.2 s: once a second at least.
# The clock moves in small steps: a tick reads the time it runs at.
@pytest.mark.parametrize(("period", "step", "tick"), [(100, 1.0, 120), (0.2, 0.25, 1.0)])
def test_the_timer_runs_every_period_but_at_least_every_minute_and_at_most_every_second(
        tmp_path: Path, clock: task.Clock, period: float, step: float, tick: float) -> None:
    run = timed_run(tmp_path, clock, AUTONEWS_SEAL_EVERY_SECONDS=period)
    try:
        run.storage.process_item(article(1))
        clock.pump([step] * (round(tick / step) - 1))
        assert sealed_names(run) == []
        clock.advance(step)
        assert len(sealed_names(run)) == 1
    finally:
        run.close()


def test_seal_due_seals_only_files_old_enough(tmp_path: Path, clock: task.Clock) -> None:
    run = timed_run(tmp_path, clock, AUTONEWS_SEAL_EVERY_SECONDS=5)
    try:
        run.storage.process_item(article(1))
        clock.advance(3)
        run.storage.process_item(article(2, route="non-english"))
        run.storage.seal_due()
        assert sealed_names(run) == []
        clock.advance(2)
        run.storage.seal_due()
        assert len(sealed_names(run)) == 1 and list(run.storage.files) == [("non-english", DAY)]
    finally:
        run.close()


def test_by_default_files_are_sealed_after_five_minutes(tmp_path: Path, clock: task.Clock) -> None:
    run = timed_run(tmp_path, clock)
    try:
        assert run.storage.every_seconds == SEAL_EVERY_SECONDS == 300
        run.storage.process_item(article(1))
        clock.advance(299)
        run.storage.seal_due()
        assert sealed_names(run) == []
        clock.advance(1)
        run.storage.seal_due()
        assert len(sealed_names(run)) == 1
    finally:
        run.close()


def test_a_failed_timed_seal_stops_the_crawl(tmp_path: Path, clock: task.Clock, caplog: pytest.LogCaptureFixture) -> None:
    run = timed_run(tmp_path, clock, AUTONEWS_SEAL_EVERY_SECONDS=1)
    try:
        run.storage.process_item(article(1))
        run.storage.files[("", DAY)]._fh = FullDisk()
        clock.advance(1)
        with caplog.at_level(logging.ERROR, logger="pipelines.storage.pipeline"):
            run.storage.seal_due()
        assert run.storage.broken
        assert log_lines(caplog) == [f"Output {run.out} is not writable: [Errno 28] No space left on device"]
        _cancel_close_calls(run.storage)
    finally:
        run.close()


# --- opening: recovery, repair, checks --------------------------------------------------------------------

def test_opening_recovers_repairs_and_cleans(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    day = out / "articles" / DAY
    day.mkdir(parents=True)
    line = {"url": "https://news.example/1", "canonical_url": "https://news.example/1", "text": "t " * 50,
            "fingerprint": "ab" * 16, "fetched_at": f"{DAY}T10:00:00+00:00"}
    (day / "20261121T100000Z-w-1-00001.part").write_text(json.dumps(line) + "\n")
    old = {k: v for k, v in line.items() if k != "schema_version"} | {"url": "https://news.example/2",
                                                                       "canonical_url": "https://news.example/2"}
    (day / "20261120T100000Z-w-1-00001.jsonl").write_text(json.dumps(old) + "\n")  # older output, never listed
    stale = out / f".report.html.{2**22 + 17}.0123abcd.tmp"  # a killed writer's temporary file (no such pid)
    stale.write_text("x")
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.pipeline"):
        run = Run(tmp_path)
    try:
        assert not run.storage.broken and not stale.exists()
        entries = read_manifest(out)
        assert [e.file.rsplit("/", 1)[1] for e in entries] == ["20261120T100000Z-w-1-00001.jsonl",
                                                              "20261121T100000Z-w-1-00001.jsonl"]
        assert all(e.schema_version == SCHEMA_VERSION for e in entries)  # a file that does not say gets today's
        assert run.stat("manifest/repaired") == 2 and run.stat("recovered/files") == 1
        assert log_lines(caplog) == ["Listed 2 sealed file(s) missing from the manifest"]
        assert run.storage.store.has_url("https://news.example/1")  # the recovered article is seen
        assert "errors/total" not in json.dumps(run.crawler.stats.get_stats())
    finally:
        run.close()


@pytest.mark.parametrize("garbled", [1, 2])
def test_garbled_manifest_lines_are_counted(tmp_path: Path, garbled: int) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").write_text("not json\n" * garbled)
    run = Run(tmp_path)
    try:
        assert run.stat("errors/manifest_line") == garbled and run.stat("errors/total") == garbled
        run.storage.count_skipped_lines()  # counted once, however often asked
        assert run.stat("errors/manifest_line") == garbled and run.stat("errors/total") == garbled
    finally:
        run.close()


def test_an_unusable_output_stops_the_crawl_at_opening(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").symlink_to(tmp_path / "elsewhere")
    with caplog.at_level(logging.ERROR, logger="pipelines.storage.pipeline"):
        run = Run(tmp_path)
    try:
        assert run.storage.broken and not run.storage._timer.running
        (message,) = log_lines(caplog)
        assert message == (f"Output {out} is not writable: [Errno {errno.ELOOP}] a symbolic link, not followed: "
                           f"'{out / 'manifest.jsonl'}'")
        _cancel_close_calls(run.storage)
    finally:
        run.close()


# --- closing --------------------------------------------------------------------------------------------

def test_closing_seals_commits_and_closes(runs: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = runs()
    dedupe = DedupePipeline.from_crawler(run.crawler)
    run.storage.process_item(dedupe.process_item(article(1)))
    run.storage.process_item(dedupe.process_item(article(2, route="non-english")))
    run.storage.store.add("https://news.example/3")  # a copy's URL, recorded without a line of its own
    store = run.storage.store
    with caplog.at_level(logging.INFO, logger="pipelines.storage.pipeline"):
        run.storage.close_spider()
    assert not run.storage._timer.running and run.storage.files == {}
    assert store.closed and getattr(run.crawler, "_autonews_store", None) is None
    assert committed_urls(tmp_path) == {"https://news.example/1", "https://news.example/2", "https://news.example/3"}
    sealed = sorted(run.out.glob("articles*/*/*.jsonl"))
    assert sorted(log_lines(caplog)) == sorted(f"Sealed {p}" for p in sealed)
    assert run.commits == 2 and run.storage.uncommitted == 0


def test_closing_commits_what_the_run_recorded_beside_written_articles(runs: Any, tmp_path: Path) -> None:
    run = runs()
    run.storage.store.add("https://news.example/4")  # a copy's URLs: no line, no file to seal
    run.storage.close_spider()
    assert committed_urls(tmp_path) == {"https://news.example/4"}


def test_a_failed_close_commits_nothing_more(runs: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = runs(AUTONEWS_COMMIT_EVERY=100)
    run.storage.process_item(article(1))
    run.storage.files[("", DAY)]._fh = FullDisk()
    with caplog.at_level(logging.ERROR, logger="pipelines.storage.pipeline"):
        run.storage.close_spider()
    assert run.storage.broken and committed_urls(tmp_path) == set()
    assert log_lines(caplog) == [f"Output {run.out} is not writable: [Errno 28] No space left on device"]
    _cancel_close_calls(run.storage)


def test_a_journal_that_cannot_be_closed_is_reported(runs: Any, caplog: pytest.LogCaptureFixture) -> None:
    run = runs()
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    run.storage.journal._fd = fd  # closed behind its back: fsync and close fail
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.pipeline"):
        run.storage.close_spider()
    assert log_lines(caplog) == [f"Cannot close the drop journal {run.storage.journal.path}: "
                                 "[Errno 9] Bad file descriptor"]


def test_closing_on_redis_reports_lost_claims(tmp_path: Path) -> None:
    from tests.servers.redis_server import RedisServer

    with RedisServer() as server:
        run = Run(tmp_path, AUTONEWS_STATE=server.url)
        run.storage.process_item(article(1))
        run.storage.store.lost_claims = 2
        run.storage.close_spider()
        assert run.stat("distributed/lost_claims") == 2
        run.close()


# --- the drop journal -------------------------------------------------------------------------------------

def drop(run: Run, item: Any, exception: BaseException) -> None:
    run.storage.item_dropped(item, exception, response=None, spider=None)


def journal(run: Run) -> list[DroppedCopy]:
    run.storage.journal.close()
    return list(read_journal(run.out))


def test_dropped_copies_and_pages_that_are_not_articles_are_journaled(runs: Any) -> None:
    run = runs()
    copy = DroppedCopy("https://b.example/copy", ("https://b.example/r",), "https://a.example/story", "near_duplicate")
    refetch = DroppedCopy("https://a.example/story", (), "https://a.example/story", "duplicate_url")
    drop(run, article(1), DuplicateDropped(copy))
    drop(run, article(2), DuplicateDropped(refetch, recheck=True))  # an unchanged re-fetch: its URLs are the article's
    page = make_page(b"<html></html>", url="https://a.example/tag/ev?utm_source=x",
                     request_url="https://a.example/r/ev")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    drop(run, page, NotAnArticle("not an article"))
    drop(run, make_page(b"", url="https://a.example/same", request_url=""), NotAnArticle("no"))
    drop(run, make_page(b"", url="https://a.example/recheck", recheck=True), NotAnArticle("no"))
    drop(run, article(3), NotAnArticle("not a page item"))
    drop(run, article(4), DropItem("another reason"))
    first, second, third = journal(run)
    assert first == copy
    assert (second.canonical_url, second.aliases, second.duplicate_of, second.kind) == (
        "https://a.example/tag/ev", ("https://a.example/r/ev",), "", NOT_ARTICLE)
    seen = datetime.fromisoformat(second.seen_at)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", second.seen_at)
    assert before <= seen <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert (third.canonical_url, third.aliases) == ("https://a.example/same", ())


def test_nothing_is_journaled_once_the_output_is_broken(runs: Any) -> None:
    run = runs()
    run.storage.broken = True
    drop(run, make_page(b"", url="https://a.example/x"), NotAnArticle("no"))
    assert journal(run) == []


def test_a_journal_that_cannot_be_written_is_reported(runs: Any, caplog: pytest.LogCaptureFixture) -> None:
    run = runs()
    path = run.storage.journal.path
    path.parent.mkdir(parents=True)
    path.write_text("")  # its name is taken: the journal is never written through what is there
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.pipeline"):
        run.storage.item_dropped(make_page(b"", url="https://a.example/x"), NotAnArticle("no"))
    assert log_lines(caplog) == [f"Cannot journal the dropped page https://a.example/x: [Errno 17] File exists: "
                                 f"'{path}'"]
    assert path.name == f"{run.storage.run_id}.ndjson"
