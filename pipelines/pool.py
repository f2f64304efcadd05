"""Run CPU-bound pure functions (extraction, language detection) in a process pool.

Scrapy's reactor is single-threaded: a 10 ms extraction inline stalls every
download. A pool sized to the cores keeps the reactor fetching while the
cores extract. In-flight work is bounded by a semaphore, so memory stays flat
however fast pages arrive (the scraper's own backpressure then slows fetching).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

T = TypeVar("T")
_ATTR = "_autonews_pool"


PARENT_POLL_SECONDS = 1.0


def _exit_with(parent: int) -> None:
    """Exit this worker once the crawl process is gone.

    After a SIGKILL of the crawl nothing else would stop it: each worker holds both ends of the
    executor's call queue (the queue is pickled whole), so it never sees EOF and would linger with
    ~170 MB.
    """
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue


def _init_worker(parent: int) -> None:
    # The parent handles Ctrl-C / SIGTERM and finishes in-flight items itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), name="autonews-parent-watch", daemon=True).start()


class CpuPool:
    """A process pool plus a bound on submitted-but-unfinished calls."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.slots = asyncio.Semaphore(max(1, workers) * 2)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a worker process (inline when the pool has no workers)."""
        if self.workers <= 0:
            return fn(*args)
        if self.executor is None:
            # spawn: forking the multi-threaded reactor process is unsafe, and a forkserver would be one more
            # process (~14 MB resident) that starts the workers no warmer: they import their modules on first use.
            ctx = multiprocessing.get_context("spawn")
            self.executor = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                                initargs=(os.getpid(),))
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # an asyncio.Semaphore belongs to the loop it first waited in; a new loop (tests) needs a new one
            self._loop, self.slots = loop, asyncio.Semaphore(max(1, self.workers) * 2)
        async with self.slots:
            return await loop.run_in_executor(self.executor, fn, *args)

    def shutdown(self) -> None:
        """Stop the workers (waits for running calls)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def cpu_pool(crawler: Crawler) -> CpuPool:
    """Return the crawler's pool, created on first use from ``AUTONEWS_POOL_PROCESSES``.

    ``AUTONEWS_POOL_PROCESSES`` = 0 runs everything inline (handy for tests and
    debugging); unset means one worker per core.
    """
    # imported here, not at the top: every pool worker imports this module (for _init_worker) and needs no
    # Scrapy (44 MB each)
    from scrapy import signals

    pool = getattr(crawler, _ATTR, None)
    if pool is None:
        setting = crawler.settings.get("AUTONEWS_POOL_PROCESSES")
        workers = (os.cpu_count() or 1) if setting in (None, "") else int(setting)
        pool = CpuPool(workers)
        setattr(crawler, _ATTR, pool)
        crawler.signals.connect(pool.shutdown, signal=signals.engine_stopped, weak=False)
    return pool
