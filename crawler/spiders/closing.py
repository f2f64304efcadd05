"""Close a spider as soon as nothing is left, instead of at Scrapy's next idle check.

Scrapy notices an idle spider only on its engine's heartbeat (every 5 s): most of the wall time of a
one-page ``scrape``, and dead time at the end of every ``backfill``. A spider with this mixin asks the
engine whether anything is left whenever an item or a request finishes.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

#: After an item or a request finished, the engine is asked up to IDLE_POLLS times, IDLE_POLL seconds
#: apart, whether the spider is idle (Scrapy's own check runs every 5 s).
IDLE_POLL = 0.02
IDLE_POLLS = 10
CLOSING_MESSAGE = "Nothing left to fetch or process: closing the spider now, not at the idle check"
"""Logged (INFO) when this mixin closes the spider: a test or a reader of the log can tell it from Scrapy's check."""
logger = logging.getLogger(__name__)
_FINISHING_SIGNALS = (signals.item_scraped, signals.item_dropped, signals.item_error, signals.spider_error,
                      signals.request_left_downloader)


class ClosesWhenDone:
    """Mixin for a spider whose work is all in ``start()``: it closes once that is exhausted and done.

    Call :func:`connect_close_when_done` from ``from_crawler`` and :meth:`close_when_done` at the end of
    ``start()`` (the last item may have finished before the engine saw the generator end).
    """

    crawler: Crawler
    _close_asked: bool = False  # the close was asked for: later polls stand down

    def close_when_done(self, *args: Any, **kwargs: Any) -> None:
        """Close the spider once nothing is left to fetch or process.

        The item or response that sent the signal is still counted as in progress while the signal's
        handlers run (and a few turns of the event loop after), so the engine is asked again a few
        times, ``IDLE_POLL`` apart; work that is really left brings its own signal later. While
        ``start()`` is not exhausted the engine never reports the spider idle.
        """
        self._close_if_idle(IDLE_POLLS)

    def _close_if_idle(self, polls: int) -> None:
        from twisted.internet import reactor  # the installed one

        engine = self.crawler.engine
        if self._close_asked or engine is None or engine.spider is None or not engine.running:
            return
        try:
            idle = engine.spider_is_idle()
        except RuntimeError:  # the engine's slot is gone: already closing
            return
        if idle:
            # once: polls started by other signals would ask again while the close is under way, and a
            # second close_spider raises "Spider not opened" (an unhandled error in a Deferred, logged CRITICAL)
            self._close_asked = True
            logger.info(CLOSING_MESSAGE)
            closing = deferred_from_coro(engine.close_spider_async(reason="finished"))
            closing.addErrback(_closed_already)
        elif polls > 0:
            reactor.callLater(IDLE_POLL, self._close_if_idle, polls - 1)


def connect_close_when_done(spider: ClosesWhenDone, crawler: Crawler) -> None:
    """Ask whether ``spider`` is done after each item or request that finishes. (A function, not a method:
    the signal handlers are no request callbacks, and the Redis queue's allow-list test tells them apart
    by that.)"""
    for signal in _FINISHING_SIGNALS:
        crawler.signals.connect(spider.close_when_done, signal=signal)


def _closed_already(failure: Failure) -> None:
    """Swallow the error of a close that found the spider closed already (Scrapy's own idle check, or the
    distributed worker's, may close it between the look and the call); anything else goes on."""
    failure.trap(RuntimeError)
    if "not opened" not in str(failure.value):
        failure.raiseException()
