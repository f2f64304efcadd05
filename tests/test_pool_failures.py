"""A page may not hold a pool worker forever, and a dead worker is noticed (issue 21): the time limit
(``AUTONEWS_PAGE_TIMEOUT``) and the rebuilt pool, in the pool itself and through the real CLI."""
from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any
from pathlib import Path

import psutil
import pytest

from pipelines.pool import CpuPool, TaskFailed
from tests.conftest import REPO, autonews_cmd



def square(x: int) -> int:
    """``x`` squared."""
    return x * x


def die() -> None:
    """Kill the worker running this call, as an OOM killer or an operator's kill -9 would."""
    os.kill(os.getpid(), signal.SIGKILL)


def die_once(marker: str) -> str:
    """Kill this worker the first time (``marker`` does not exist yet), answer the second."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "second try"


def test_a_call_over_the_time_limit_is_abandoned_and_the_pool_goes_on() -> None:
    pool = CpuPool(1, timeout=1.0)
    try:
        async def main() -> tuple[BaseException | int, ...]:
            return tuple(await asyncio.gather(pool.run(time.sleep, 300), pool.run(square, 7),
                                              return_exceptions=True))

        started = time.monotonic()
        slow, fast = asyncio.run(main())
        assert time.monotonic() - started < 60
        assert isinstance(slow, TaskFailed) and slow.label == "page_timeout"
        assert fast == 49  # queued behind the slow call in the killed pool: run again, not lost
        assert asyncio.run(pool.run(square, 3)) == 9
    finally:
        pool.shutdown()


def test_a_dead_worker_is_replaced_and_the_call_tried_once_more(tmp_path: Path) -> None:
    pool = CpuPool(1)
    try:
        assert asyncio.run(pool.run(die_once, str(tmp_path / "died"))) == "second try"
        with pytest.raises(TaskFailed) as failed:
            asyncio.run(pool.run(die))
        assert failed.value.label == "worker_died"
        assert asyncio.run(pool.run(square, 4)) == 16
    finally:
        pool.shutdown()


def test_a_call_into_a_pool_broken_under_another_call_runs_in_a_new_one() -> None:
    """A worker died under one call, and the executor is broken before that call's wait replaced it: the
    next call never reached a worker, so it runs in a new pool rather than failing (the crawl lost pages
    with a BrokenProcessPool traceback this way)."""
    pool = CpuPool(1)
    try:
        assert asyncio.run(pool.run(square, 2)) == 4
        executor = pool.executor
        for process in list(executor._processes.values()):  # type: ignore[union-attr]
            process.kill()
        deadline = time.monotonic() + 30
        while not executor._broken and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
        assert executor._broken and pool.executor is executor  # type: ignore[union-attr]
        assert asyncio.run(pool.run(square, 5)) == 25
        assert pool.executor is not executor
    finally:
        pool.shutdown()


WORDS = ("battery plant model sales electric charging range motor engine factory dealer price market brand "
         "supplier chip steel platform hybrid truck sedan export import tariff union strike quarter profit loss "
         "recall safety software update launch design cabin seat wheel tyre brake").split()


def distinct_pages(directory: Path, count: int) -> list[Path]:
    """``count`` article pages whose texts share no sentence (dedupe keeps them all)."""
    from tests.benchmarks.adversarial_pages import _page

    pages = []
    for i in range(count):
        rng = random.Random(i)
        paragraphs = "".join("<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(6))
        page = directory / f"page{i}.html"
        page.write_text(_page(paragraphs, title=f"Report number {i} on the industry"), encoding="utf-8")
        pages.append(page)
    return pages


def run_scrape(tmp_path: Path, pages: list[Path], *extra: str,
               during: Callable[[psutil.Popen], None] | None = None) -> tuple[int, str, str]:
    """``autonews scrape`` of ``pages`` (records to out.jsonl); the exit status, stderr and the log."""
    log = tmp_path / "scrape.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    proc = psutil.Popen([*autonews_cmd(), "scrape", *map(str, pages), "-o", str(tmp_path / "out.jsonl"),
                         "--log-file", str(log), "-s", "AUTONEWS_POOL_PROCESSES=1", *extra],
                        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    if during is not None:
        threading.Thread(target=during, args=(proc,), daemon=True).start()
    try:
        _, err = proc.communicate(timeout=240)
    finally:
        for child in [*proc.children(recursive=True), proc] if proc.poll() is None else []:
            child.kill()  # a hang (the test failing) leaves no crawl or worker behind
    return proc.returncode, err, log.read_text(encoding="utf-8")


def kill_workers(proc: psutil.Popen, kills: int = 4) -> None:
    """SIGKILL the crawl's pool workers (its spawned grandchildren) as they appear, ``kills`` times."""
    killed: set[int] = set()
    deadline = time.monotonic() + 120
    while len(killed) < kills and time.monotonic() < deadline and proc.poll() is None:
        try:
            workers = [p for p in proc.children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
        except psutil.Error:
            workers = []
        for worker in workers:
            if worker.pid not in killed and time.time() - worker.create_time() > 0.5:
                worker.kill()
                killed.add(worker.pid)
        time.sleep(0.05)


def summary(stderr: str) -> tuple[int, int, int, int]:
    """(articles, pages, not articles, errors) from scrape's summary line."""
    line = next(x for x in stderr.splitlines() if "page(s) gave an article" in x)
    written, total = (int(n) for n in re.search(r"(\d+) of (\d+) page", line).groups())  # type: ignore[union-attr]

    def count(label: str) -> int:  # a part is left out of the line when its count is 0
        found = re.search(label + r": (\d+)", line)
        return int(found.group(1)) if found else 0

    return written, total, count("not articles"), count("errors")


def test_killed_workers_are_counted_as_errors_and_the_other_pages_written(tmp_path: Path) -> None:
    pages = distinct_pages(tmp_path, 10)
    code, err, log = run_scrape(tmp_path, pages, during=kill_workers)
    assert code == 1, err
    written, total, not_articles, errors = summary(err)
    assert total == len(pages)
    assert errors >= 1 and "autonews/errors/worker_died" in log
    assert written >= 1 and written + not_articles + errors == total  # nothing silently lost
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == written


def test_a_page_over_the_time_limit_is_an_error_and_the_crawl_goes_on(tmp_path: Path) -> None:
    from crawler.settings import ITEM_PIPELINES

    slow = tmp_path / "slow.html"  # the test-only pipeline sleeps 600 s on a URL with "slow" in it
    slow.write_bytes(distinct_pages(tmp_path, 3)[2].read_bytes())
    pipelines = {("tests.servers.slow_pipeline.SlowExtractPipeline" if "ExtractPipeline" in k else k): v
                 for k, v in ITEM_PIPELINES.items()}
    pages = [slow, *distinct_pages(tmp_path, 2)]
    started = time.monotonic()
    code, err, log = run_scrape(tmp_path, pages, "-s", "AUTONEWS_PAGE_TIMEOUT=3",
                                "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}")
    assert time.monotonic() - started < 200
    assert code == 1, err
    written, total, not_articles, errors = summary(err)
    assert (written, errors) == (2, 1), err
    assert "'autonews/errors/page_timeout': 1" in log
    assert "slow.html" not in (tmp_path / "out.jsonl").read_text(encoding="utf-8")


def test_a_crawl_whose_workers_are_killed_says_so_and_the_next_run_writes_what_was_lost(
        generated_site: tuple[Path, Any], tmp_path: Path) -> None:
    """Issue 21's finding: kill -9 of a pool worker mid-crawl left the summary at "errors: 0", status ok,
    exit 0, and the pages it held were lost. Now the errors are counted in the summary, the run report
    and health, the exit status says so, and the next run fetches the pages that were not written."""
    from tests.conftest import crawl_args, run_reports, sealed_records

    registry, server = generated_site
    out = tmp_path / "out"
    args = crawl_args(registry, server.base_url, out, "-s", "AUTONEWS_POOL_PROCESSES=1",
                      "-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=60")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    proc = psutil.Popen([*autonews_cmd(), *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    threading.Thread(target=kill_workers, args=(proc, 3), daemon=True).start()
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        for child in [*proc.children(recursive=True), proc] if proc.poll() is None else []:
            child.kill()
    [report] = run_reports(out)
    died = report["stats"].get("autonews/errors/worker_died", 0)
    assert died >= 1, err[-3000:]
    summary_line = next(line for line in err.splitlines() if "articles written" in line)
    assert re.search(r"errors: [1-9]", summary_line) and "worker_died" in err, summary_line
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err[-3000:]
    assert report["exit_status"] == proc.returncode
    # every article page fetched is accounted for: written, or counted as an error (nothing silently lost)
    source = report["sources"]["synthetic"]
    assert source["errors"].get("worker_died", 0) == died
    assert source["written"] + source["not_article"] + source["duplicates"] + source["non_english"] \
        + sum(source["errors"].values()) == source["pages"], source
    first = {r["url"] for r in sealed_records(out)}

    again = subprocess.run([*autonews_cmd(), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode in (0, 4), again.stderr[-3000:]
    records = sealed_records(out)
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls))  # nothing twice
    # the pages the dead workers held were not marked seen: this run wrote them
    assert len(set(urls) - first) >= 1


def test_workers_run_nicer_than_the_crawl_process_as_set() -> None:
    from scrapy.utils.test import get_crawler

    from pipelines.pool import WORKER_NICE, cpu_pool

    own = os.nice(0)
    for settings, added in (({}, WORKER_NICE), ({"AUTONEWS_POOL_NICE": 2}, 2), ({"AUTONEWS_POOL_NICE": 0}, 0)):
        pool = cpu_pool(get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 1, **settings}))
        try:
            assert asyncio.run(pool.run(os.nice, 0)) == min(19, own + added), settings
        finally:
            pool.shutdown()


def _wait_for_workers(pool, count: int, seconds: float = 30.0) -> int:
    """How many worker processes the pool's executor has, once it has ``count`` (or the time ran out)."""
    deadline = time.monotonic() + seconds
    while True:
        running = len(getattr(pool.executor, "_processes", None) or {})
        if running >= count or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def test_warm_starts_every_worker_not_only_the_first() -> None:
    from pipelines.pool import CpuPool

    pool = CpuPool(2)
    try:
        pool.warm()
        assert _wait_for_workers(pool, 2) == 2  # a spawn executor starts one worker per call while none is idle
    finally:
        pool.shutdown()


def test_a_prestarted_pool_is_adopted_by_a_crawler_asking_for_the_same_one() -> None:
    from scrapy.utils.test import get_crawler

    import pipelines.pool as pool_module

    pool_module.prestart({"AUTONEWS_POOL_PROCESSES": "2", "AUTONEWS_POOL_NICE": "3"}.get)
    early = pool_module._prestarted
    assert early is not None and _wait_for_workers(early, 2) == 2  # started before any crawler exists
    crawler = get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 2, "AUTONEWS_POOL_NICE": 3})
    pool = pool_module.cpu_pool(crawler)
    try:
        assert pool is early and pool_module._prestarted is None
        assert asyncio.run(pool.run(os.getpid)) in {p.pid for p in early.executor._processes.values()}
    finally:
        pool.shutdown()


def test_a_prestarted_pool_of_other_settings_is_shut_down_not_adopted() -> None:
    from scrapy.utils.test import get_crawler

    import pipelines.pool as pool_module

    pool_module.prestart({"AUTONEWS_POOL_PROCESSES": "1"}.get)
    early = pool_module._prestarted
    pool = pool_module.cpu_pool(get_crawler(settings_dict={"AUTONEWS_POOL_PROCESSES": 2}))
    try:
        assert pool is not early and pool.workers == 2
        assert early.executor is None and pool_module._prestarted is None  # stopped, not left running
    finally:
        pool.shutdown()


def test_an_unadopted_prestarted_pool_is_discarded() -> None:
    import pipelines.pool as pool_module

    pool_module.prestart({"AUTONEWS_POOL_PROCESSES": "1"}.get)
    early = pool_module._prestarted
    processes = list(early.executor._processes.values()) if early.executor else []
    pool_module.discard_prestarted()
    assert pool_module._prestarted is None and early.executor is None
    assert all(not process.is_alive() for process in processes)
