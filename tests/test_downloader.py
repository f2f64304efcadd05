"""The http(s) download handler: Scrapy's, without the shutdown race that logged AlreadyCalledError."""

from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from twisted.internet.defer import Deferred

from crawler.downloader.handler import HTTPDownloadHandler, give_up_waiting
from crawler.cli.runner import project_settings


def test_the_timer_fires_a_pending_close_once() -> None:
    closed: Deferred[None] = Deferred()
    fired: list[object] = []
    closed.addCallback(fired.append)
    give_up_waiting(closed)
    assert fired == [None]


def test_the_timer_leaves_a_finished_close_alone() -> None:
    closed: Deferred[None] = Deferred()
    closed.callback(None)  # the connections closed just before the timer ran
    give_up_waiting(closed)  # Scrapy's own timer raised AlreadyCalledError here
    assert closed.called


def test_the_project_uses_it_for_http_and_https() -> None:
    handlers = project_settings().getdict("DOWNLOAD_HANDLERS")
    name = f"{HTTPDownloadHandler.__module__}.{HTTPDownloadHandler.__name__}"
    assert handlers["http"] == handlers["https"] == name
    assert issubclass(HTTPDownloadHandler, HTTP11DownloadHandler)  # everything else stays Scrapy's
