"""The reader-to-reactor handoff of the backfill (crawler/backfill/handoff.py).

A reader thread must never wait for the event loop while the handoff has room (it holds the GIL the
scan needs), must wait while it is full (memory stays flat), and must give up when the run stops.
"""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from crawler.backfill.handoff import Handoff


def _thread_result(target, timeout: float = 5.0):
    """Run ``target`` in a thread; its return value, or "still waiting" when it did not return in time."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(target()), daemon=True)
    thread.start()
    thread.join(timeout)
    return out[0] if out else "still waiting"


def test_put_with_room_does_not_wait_for_the_loop() -> None:
    """The loop is not even running: puts with room return at once (the old handoff waited on the loop)."""
    loop = asyncio.new_event_loop()
    try:
        handoff = Handoff(loop, 3, threading.Event())
        assert _thread_result(lambda: [handoff.put(n) for n in range(3)], timeout=2.0) == [True, True, True]
        assert handoff.qsize() == 3
        got = loop.run_until_complete(asyncio.wait_for(_take(handoff, 3), 2.0))
        assert got == [0, 1, 2]  # first in, first out
    finally:
        loop.close()


async def _take(handoff: Handoff, count: int) -> list:
    return [await handoff.get() for _ in range(count)]


def test_full_handoff_waits_for_room_then_delivers() -> None:
    async def scenario() -> list:
        handoff = Handoff(asyncio.get_running_loop(), 2, threading.Event())
        producer = asyncio.get_running_loop().run_in_executor(None, lambda: [handoff.put(n) for n in range(6)])
        await asyncio.sleep(0.3)
        assert handoff.qsize() == 2 and not producer.done()  # bounded: the third put waits
        got = await _take(handoff, 6)
        assert await producer == [True] * 6
        return got

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) == list(range(6))


def test_stop_ends_a_waiting_put_unless_forced() -> None:
    loop = asyncio.new_event_loop()
    try:
        stop = threading.Event()
        handoff = Handoff(loop, 1, stop)
        assert handoff.put("first")
        stop.set()
        started = time.monotonic()
        assert _thread_result(lambda: handoff.put("second")) is False  # full and stopping: given up
        assert time.monotonic() - started < 3
        # a forced put (a thread's last word) keeps waiting for room while the loop lives
        assert _thread_result(lambda: handoff.put("done", force=True), timeout=1.2) == "still waiting"
    finally:
        loop.close()


def test_put_after_the_loop_closed_is_refused() -> None:
    loop = asyncio.new_event_loop()
    handoff = Handoff(loop, 4, threading.Event())
    loop.close()
    assert _thread_result(lambda: handoff.put("late", force=True)) is False


@pytest.mark.parametrize("producers", [1, 3])
def test_concurrent_producers_lose_no_event_and_keep_each_threads_order(producers: int) -> None:
    """Many puts racing the consumer's clear-and-wait: every event arrives (no lost wakeup), each
    thread's events in the order it put them."""
    per_thread = 2000

    async def scenario() -> list:
        handoff = Handoff(asyncio.get_running_loop(), 5, threading.Event())
        loop = asyncio.get_running_loop()
        jobs = [loop.run_in_executor(None, lambda t=t: [handoff.put((t, n)) for n in range(per_thread)])
                for t in range(producers)]
        got = await _take(handoff, producers * per_thread)
        await asyncio.gather(*jobs)
        return got

    got = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(got) == producers * per_thread
    for t in range(producers):
        assert [n for thread, n in got if thread == t] == list(range(per_thread))
