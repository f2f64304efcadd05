"""The process pool (pipelines/pool.py) and the pipelines' pool path."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import psutil
import pytest
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.extract.pipeline import ExtractPipeline
from pipelines.language.pipeline import LanguagePipeline
from pipelines.items import Article, PageItem
from pipelines.pool import CpuPool, cpu_pool
from tests.conftest import make_page

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


def square(x: int) -> tuple[int, int]:
    """The square of ``x`` and the pid that computed it."""
    return x * x, os.getpid()


def nap_square(x: int) -> tuple[int, int]:
    """``square`` after a short nap, so that calls pile up behind the workers."""
    time.sleep(0.02)
    return square(x)


def fail(message: str) -> None:
    """Raise inside the worker."""
    raise ValueError(message)


class CountingExecutor:
    """Wraps an executor and records the most calls ever submitted and not yet finished."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.in_flight = 0
        self.most = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Submit to the real executor, counting until the future is done."""
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        future = self.inner.submit(fn, *args)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        self.in_flight -= 1

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Shut the real executor down."""
        self.inner.shutdown(*args, **kwargs)


def crawler_with(workers: int | None) -> Any:
    """A crawler whose settings set AUTONEWS_POOL_PROCESSES (unset when None)."""
    return get_crawler(settings_dict={} if workers is None else {"AUTONEWS_POOL_PROCESSES": workers})


def test_two_workers_run_a_pure_function_outside_this_process() -> None:
    pool = CpuPool(2)
    try:
        async def main() -> list[tuple[int, int]]:
            return await asyncio.gather(*(pool.run(square, i) for i in range(8)))

        results = asyncio.run(main())
    finally:
        pool.shutdown()
    assert [value for value, _ in results] == [i * i for i in range(8)]
    assert os.getpid() not in {pid for _, pid in results}


def test_an_exception_in_a_worker_reaches_the_caller() -> None:
    pool = CpuPool(2)
    try:
        with pytest.raises(ValueError, match="broken page"):
            asyncio.run(pool.run(fail, "broken page"))
        # the pool survives a failed call
        assert asyncio.run(pool.run(square, 3))[0] == 9
    finally:
        pool.shutdown()


def test_zero_workers_runs_inline() -> None:
    crawler = crawler_with(0)
    pool = cpu_pool(crawler)
    assert asyncio.run(pool.run(square, 4)) == (16, os.getpid())
    assert pool.executor is None
    with pytest.raises(ValueError, match="inline"):
        asyncio.run(pool.run(fail, "inline"))


def test_one_pool_per_crawler_sized_to_the_cores_by_default() -> None:
    crawler = crawler_with(None)
    assert cpu_pool(crawler) is cpu_pool(crawler)
    assert cpu_pool(crawler).workers == (os.cpu_count() or 1)
    assert cpu_pool(crawler_with(3)).workers == 3


def test_in_flight_calls_are_bounded_to_twice_the_workers() -> None:
    pool = CpuPool(2)
    try:
        asyncio.run(pool.run(square, 0))  # starts the executor
        counting = CountingExecutor(pool.executor)
        pool.executor = counting  # type: ignore[assignment]

        async def main() -> list[tuple[int, int]]:
            return await asyncio.gather(*(pool.run(nap_square, i) for i in range(24)))

        results = asyncio.run(main())
    finally:
        pool.shutdown()
    assert [value for value, _ in results] == [i * i for i in range(24)]
    assert counting.most == 4  # 24 calls waited for 4 slots, never more
    assert 1 <= len({pid for _, pid in results} - {os.getpid()}) <= 2


def test_pool_shuts_down_when_the_engine_stops() -> None:
    crawler = crawler_with(2)
    pool = cpu_pool(crawler)

    async def main() -> list[tuple[int, int]]:
        return await asyncio.gather(*(pool.run(nap_square, i) for i in range(4)))

    pids = {pid for _, pid in asyncio.run(main())}
    assert pids and all(psutil.pid_exists(pid) for pid in pids)
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert pool.executor is None
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in pids)


def _page_item(name: str) -> PageItem:
    return make_page((FIXTURES / name).read_bytes(), f"https://example.com/{name}")


@pytest.mark.parametrize("name", ["insideevs_comments.html", "listing.html"])
def test_extract_and_language_pipelines_give_the_same_item_through_the_pool(name: str) -> None:
    inline_crawler, pooled_crawler = crawler_with(0), crawler_with(2)
    for crawler in (inline_crawler, pooled_crawler):
        crawler.stats.open_spider()

    def both(crawler: Any) -> Article | str:
        extract, language = ExtractPipeline.from_crawler(crawler), LanguagePipeline.from_crawler(crawler)
        try:
            article = asyncio.run(extract.process_item(_page_item(name)))
            return asyncio.run(language.process_item(article))
        except DropItem as exc:
            return str(exc)

    try:
        expected = both(inline_crawler)  # AUTONEWS_POOL_PROCESSES=0: the same calls, run inline
        got = both(pooled_crawler)
    finally:
        cpu_pool(pooled_crawler).shutdown()
    assert got == expected
    assert (name == "listing.html") == isinstance(got, str)  # the listing is dropped either way


def test_workers_import_no_scrapy() -> None:
    # each pool worker imports the modules of the functions it runs; Scrapy would add ~44 MB to each
    code = ("import sys, pipelines.analysis, pipelines.extract.article, pipelines.language.detect, pipelines.pool; "
            "print(sorted(m for m in sys.modules if m == 'scrapy' or m.startswith('scrapy.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"


KILLED_PARENT = """
import asyncio, os, sys, time
from pipelines.pool import CpuPool
from tests.test_pool import square
if __name__ == "__main__":
    pool = CpuPool(1)
    print(asyncio.run(pool.run(square, 2))[1], flush=True)
    time.sleep(60)
"""


def test_workers_exit_when_the_crawl_is_killed() -> None:
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PARENT], cwd=repo, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    worker = int(proc.stdout.readline())
    assert psutil.pid_exists(worker)
    proc.kill()  # SIGKILL: no engine_stopped, no shutdown()
    proc.wait()
    try:
        psutil.Process(worker).wait(timeout=30)
    except psutil.NoSuchProcess:
        pass
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
