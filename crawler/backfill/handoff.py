"""Reader threads to the reactor: a bounded first-in first-out handoff the threads never wait on while it has room.

Every moment a WARC reader thread spends waiting is scanning lost (when this was written, fastwarc inflated
holding the GIL and two readers took turns on one core; they now inflate outside it, crawler.backfill.inflate). Handing each kept record over with
``asyncio.run_coroutine_threadsafe(queue.put(...)).result()`` made the thread wait for the event loop to
wake up and run the put: up to several milliseconds per record whenever the reactor was busy with the
pipelines, ~1 s over a 200 MB month (0.65x the bare scan's records/s). Here a thread puts into a
thread-safe bounded queue and only nudges the loop (``call_soon_threadsafe``); it waits only when the
queue is full, which is the back-pressure that keeps memory flat.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

PUT_POLL_SECONDS = 0.5
"""How often a thread waiting on a full handoff looks whether the run is stopping."""


class Handoff:
    """A bounded queue from reader threads (:meth:`put`) to a coroutine of the event loop (:meth:`get`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int, stop: threading.Event) -> None:
        self.loop = loop
        """The event loop :meth:`get` runs in (threads reach it with ``call_soon_threadsafe``)."""
        self._queue: queue.Queue[Any] = queue.Queue(max(1, maxsize))
        self._ready = asyncio.Event()
        self._stop = stop

    def put(self, event: Any, force: bool = False) -> bool:
        """Hand ``event`` over (from a thread), waiting only while the queue is full; False when the run is
        stopping (``force``: wait anyway, for the thread's last word) or the loop is gone."""
        while True:
            if self.loop.is_closed():
                return False
            try:
                self._queue.put(event, timeout=PUT_POLL_SECONDS)
                break
            except queue.Full:
                if self._stop.is_set() and not force:
                    return False
        try:
            self.loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop closed meanwhile: nobody will read the event
            return False
        return True

    async def get(self) -> Any:
        """The next event (in the loop), waiting for one."""
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                pass
            self._ready.clear()
            try:  # a put between the first look and the clear() set the flag before it was cleared
                return self._queue.get_nowait()
            except queue.Empty:
                await self._ready.wait()

    def qsize(self) -> int:
        """Events waiting (approximate, as ``queue.Queue.qsize``)."""
        return self._queue.qsize()
