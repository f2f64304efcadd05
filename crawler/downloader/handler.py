"""Scrapy's HTTP/1.1 download handler, without the shutdown race that printed a CRITICAL traceback.

``HTTP11DownloadHandler.close`` waits for ``closeCachedConnections`` and fires the same Deferred itself
after ``_disconnect_timeout`` (1 s) in case the close hangs. When the connections close just before that
timer (a kept-alive connection the server is slow to drop, a loaded machine), the Deferred has already
fired, but the coroutine waiting on it has not yet resumed to cancel the timer; the timer then calls
``callback`` a second time and Twisted logs ``AlreadyCalledError`` "while handling timed call" at
CRITICAL on stderr, in cron mail, after a crawl that went fine. The timer here only fires the Deferred
when nothing else has.
"""

from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred


def give_up_waiting(deferred: Deferred[None]) -> None:
    """Fire ``deferred`` unless it has fired already (the close finished in time)."""
    if not deferred.called:
        deferred.callback(None)


class HTTPDownloadHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` whose close never fires the pool's Deferred twice."""

    async def close(self) -> None:
        """Close the cached connections, giving up after ``_disconnect_timeout`` seconds."""
        from twisted.internet import reactor

        closed: Deferred[None] = self._pool.closeCachedConnections()
        # closeCachedConnections can hang on network or server issues (twisted#7738): stop waiting then.
        delayed_call = reactor.callLater(self._disconnect_timeout, give_up_waiting, closed)
        try:
            await maybe_deferred_to_future(closed)
        finally:
            if delayed_call.active():
                delayed_call.cancel()
