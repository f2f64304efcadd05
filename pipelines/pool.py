"""Run CPU-bound pure functions (extraction, language detection) in a process pool.

Scrapy's reactor is single-threaded: a 10 ms extraction inline stalls every
download. A pool sized to the cores keeps the reactor fetching while the
cores extract. In-flight work is bounded by a semaphore, so memory stays flat
however fast pages arrive (the scraper's own backpressure then slows fetching).

A page must not hold a worker forever nor lose the run's other pages with it: a call that runs longer than
``AUTONEWS_PAGE_TIMEOUT`` seconds is abandoned (its worker killed, the pool replaced) and fails with
:class:`TaskFailed` ``page_timeout``; a call whose worker died (``BrokenProcessPool``: killed, out of memory)
is retried once on a new pool, then fails with ``worker_died``. The other calls that were in the killed pool
are run again. The stages count a ``TaskFailed`` as an error of the page.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

T = TypeVar("T")
_ATTR = "_autonews_pool"


PARENT_POLL_SECONDS = 1.0
PAGE_TIMEOUT = 60.0
"""Seconds one pool call (one page) may run (``AUTONEWS_PAGE_TIMEOUT``; 0: no limit)."""
CRASH_RETRIES = 1
"""A call whose worker died is run again this many times on a new pool before it fails."""
WORKER_NICE = 10
"""Niceness the workers add to the crawl process's (``AUTONEWS_POOL_NICE``; 0: none). Extraction saturates
the cores it is given; the process that fetches, reads WARC files and writes the output should not wait
behind it (a backfill's reading, a crawl's timeouts), and the run's total CPU does not change. Linux shares
a core between tasks by weight: a worker 5 steps nicer still took a quarter of the core a WARC reader ran
on (the reader scanned at 0.69x a bare loop's records/s, median of 3 rounds), 10 steps nicer a tenth (0.76x)."""
# what workers import (and warm) before their first call, so that a call's time is the page's own
PRELOAD = ("pipelines.extract.article", "pipelines.language.detect:_get_factory")
_started: Any = None  # in a worker: the queue it announces each call on


class TaskFailed(Exception):
    """A pool call that did not finish: ``label`` is ``page_timeout`` or ``worker_died``."""

    def __init__(self, label: str, detail: str) -> None:
        super().__init__(label, detail)
        self.label = label
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.label}: {self.detail}"


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


def _init_worker(parent: int, started: Any = None, preload: tuple[str, ...] = (), nice: int = 0) -> None:
    global _started
    if nice > 0:
        os.nice(nice)  # raising niceness needs no privilege
    # The parent handles Ctrl-C / SIGTERM and finishes in-flight items itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), name="autonews-parent-watch", daemon=True).start()
    _started = started
    for name in preload:
        module, _, function = name.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()


def _announced(task: int, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a worker after telling the parent that call ``task`` starts (its time limit
    counts from here, not from the submission: calls wait in the executor's queue)."""
    if _started is not None:
        _started.put(task)
    return fn(*args)


class CpuPool:
    """A process pool plus a bound on submitted-but-unfinished calls."""

    def __init__(self, workers: int, timeout: float = 0.0, preload: tuple[str, ...] = (), nice: int = 0) -> None:
        self.workers = workers
        self.nice = nice
        self.timeout = timeout
        self.preload = preload
        self.executor: ProcessPoolExecutor | None = None
        self.slots = asyncio.Semaphore(max(1, workers) * 2)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0  # which executor: a call knows whether the one that broke is still current
        self._killed: set[int] = set()  # generations this pool killed itself (a time limit)
        self._started_queue: Any = None
        self._started: dict[int, float] = {}  # call id -> when its worker announced it
        self._ids = itertools.count()

    def _executor(self) -> ProcessPoolExecutor:
        if self.executor is None:
            # spawn: forking the multi-threaded reactor process is unsafe, and a forkserver would be one more
            # process (~14 MB resident) that starts the workers no warmer.
            ctx = multiprocessing.get_context("spawn")
            # a queue per executor: a worker killed while writing to it may leave it unusable
            self._started_queue = ctx.SimpleQueue() if self.timeout > 0 else None
            self.executor = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                                initargs=(os.getpid(), self._started_queue, self.preload, self.nice))
        return self.executor

    def warm(self) -> None:
        """Start every worker now (a no-op call each) rather than at the first pages: a run that will certainly
        extract (a backfill) overlaps their start-up (imports, preloads) with its own."""
        if self.workers > 0:
            executor = self._executor()
            # a spawn executor starts a worker per call while none is idle (one call started only one, and
            # the other imported during the first pages)
            for _ in range(self.workers):
                executor.submit(os.getpid)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in a worker process (inline when the pool has no workers, without a time limit).

        Raises :class:`TaskFailed` when the call ran over the time limit or its worker died twice.
        """
        if self.workers <= 0:
            return fn(*args)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # an asyncio.Semaphore belongs to the loop it first waited in; a new loop (tests) needs a new one
            self._loop, self.slots = loop, asyncio.Semaphore(max(1, self.workers) * 2)
        crashes = 0
        async with self.slots:
            while True:
                executor, generation, task = self._executor(), self._generation, next(self._ids)
                try:
                    future = loop.run_in_executor(executor, _announced, task, fn, *args)
                except BrokenProcessPool:
                    # it broke under another call (whose own wait replaces it, maybe not yet): not this
                    # call's doing, which never reached a worker
                    self._replace(generation)
                    continue
                try:
                    return await self._wait(future, task, generation)
                except BrokenProcessPool as exc:
                    self._replace(generation)
                    if generation in self._killed:
                        continue  # killed for another call's time limit: not this call's doing, run it again
                    crashes += 1
                    if crashes > CRASH_RETRIES:
                        raise TaskFailed("worker_died", f"its worker died {crashes} times ({exc})") from None
                finally:
                    self._started.pop(task, None)

    async def _wait(self, future: asyncio.Future[T], task: int, generation: int) -> T:
        """The call's result; kills its pool and raises ``TaskFailed("page_timeout")`` once it has run longer
        than the time limit."""
        if self.timeout <= 0:
            return await future
        poll = min(1.0, self.timeout / 4)
        while True:
            done, _ = await asyncio.wait({future}, timeout=poll)
            if done:
                return future.result()
            self._read_started()
            began = self._started.get(task)
            if began is not None and time.monotonic() - began > self.timeout:
                future.cancel()
                self._kill(generation)
                raise TaskFailed("page_timeout", f"ran over {self.timeout:g} s")

    def _read_started(self) -> None:
        """Note the start of the calls the current workers announced since the last look."""
        started = self._started_queue
        while started is not None:
            try:
                if started.empty():
                    return
                self._started[started.get()] = time.monotonic()
            except (OSError, EOFError, queue.Empty):
                return

    def _replace(self, generation: int) -> None:
        """Drop the broken executor of ``generation`` (if still current): the next call starts a new one."""
        if generation == self._generation and self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None
            self._generation += 1

    def _kill(self, generation: int) -> None:
        """Kill the workers of ``generation`` (one of them runs a call over its time limit; which one is not
        known, and the executor breaks as a whole when any worker dies)."""
        if generation != self._generation or self.executor is None:
            return
        self._killed.add(generation)
        # ProcessPoolExecutor has no public way to stop a running call; its _processes are the workers
        for process in list(getattr(self.executor, "_processes", {}).values()):
            process.kill()
        self._replace(generation)

    def shutdown(self) -> None:
        """Stop the workers (waits for running calls)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def pool_parameters(get: Callable[[str], Any]) -> tuple[int, float, int]:
    """Workers, time limit and niceness as settings read by ``get`` ask (``AUTONEWS_POOL_PROCESSES``,
    ``AUTONEWS_PAGE_TIMEOUT``, ``AUTONEWS_POOL_NICE``; None or "": the default)."""
    workers, timeout, nice = (get(name) for name in ("AUTONEWS_POOL_PROCESSES", "AUTONEWS_PAGE_TIMEOUT",
                                                     "AUTONEWS_POOL_NICE"))
    return ((os.cpu_count() or 1) if workers in (None, "") else int(workers),
            PAGE_TIMEOUT if timeout in (None, "") else float(timeout),
            WORKER_NICE if nice in (None, "") else int(nice))


_prestarted: CpuPool | None = None
"""A pool started before its crawler existed (:func:`prestart`), waiting for :func:`cpu_pool` to adopt it."""


def prestart(get: Callable[[str], Any]) -> None:
    """Start a pool's workers now, before Scrapy is even imported: a run that will certainly extract (a
    backfill) lets them import and load the language profiles (~0.9 s of CPU each) on the cores its
    single-threaded start leaves idle. ``get`` reads the settings known so far (the command line's); the
    crawler's :func:`cpu_pool` adopts the pool only when its own settings ask for the very same one (else it is
    shut down and the crawler's is made); :func:`discard_prestarted` stops one never adopted."""
    global _prestarted
    discard_prestarted()
    workers, timeout, nice = pool_parameters(get)
    pool = CpuPool(workers, timeout, PRELOAD, nice=nice)
    pool.warm()
    _prestarted = pool


def discard_prestarted() -> None:
    """Stop a prestarted pool no crawler adopted (a run that ended before its spider started, a usage error):
    its workers ran no call, so they are killed rather than waited for (their imports took ~1 s)."""
    global _prestarted
    pool, _prestarted = _prestarted, None
    if pool is not None and pool.executor is not None:
        executor = pool.executor
        workers = list(getattr(executor, "_processes", {}).values())
        manager = getattr(executor, "_executor_manager_thread", None)
        pool._kill(pool._generation)  # the same stop as a time limit's: nothing of theirs is lost
        # reaped here once the executor's manager thread is gone (reaping while it still ran raced it: a
        # worker it had reaped looked alive to this thread): none outlives the command
        if manager is not None:
            manager.join(5)
        for worker in workers:
            worker.join(5)


def cpu_pool(crawler: Crawler) -> CpuPool:
    """Return the crawler's pool, created on first use from ``AUTONEWS_POOL_PROCESSES`` (or the prestarted one).

    ``AUTONEWS_POOL_PROCESSES`` = 0 runs everything inline (handy for tests and
    debugging); unset means one worker per core. ``AUTONEWS_PAGE_TIMEOUT``: seconds one call may run;
    ``AUTONEWS_POOL_NICE``: niceness the workers add.
    """
    global _prestarted
    # imported here, not at the top: every pool worker imports this module (for _init_worker) and needs no
    # Scrapy (44 MB each)
    from scrapy import signals

    pool = getattr(crawler, _ATTR, None)
    if pool is None:
        workers, timeout, nice = pool_parameters(crawler.settings.get)
        early, _prestarted = _prestarted, None
        if early is not None and (early.workers, early.timeout, early.nice) == (workers, timeout, nice):
            pool = early
        else:
            if early is not None:
                early.shutdown()
            pool = CpuPool(workers, timeout, PRELOAD, nice=nice)
        setattr(crawler, _ATTR, pool)
        crawler.signals.connect(pool.shutdown, signal=signals.engine_stopped, weak=False)
    return pool
