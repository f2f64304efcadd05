"""No pickle crosses a trust boundary; state, cache and lock files are private (issue 11, rows 3 and 7).

Attacks reproduced here, each with a payload whose ``__reduce__`` creates a marker file (a
control proves the payload is live: plain pickle runs it):

- a pickle (or any entry that is not a request the spiders could have made) written into the
  shared Redis request queue: counted as ``autonews/errors/bad_queue_entry``, logged without the
  payload, dropped, never run, and the worker goes on with the next entry;
- a ``pickled_meta`` planted in the HTTP cache: never read, an entry without ``meta.json`` is a
  miss, and the cache keeps no ``Set-Cookie`` / ``Authorization`` / ``Cookie`` /
  ``Proxy-Authorization`` and no file other users can read;
- a symbolic link at the run lock's path: refused, its target untouched; state and lock files 0600.

Everything runs on 127.0.0.1 with a real ``redis-server`` (tests/servers/redis_server.py).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import scrapy
from scrapy import signals
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Response, TextResponse
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from scrapy_redis import picklecompat

import crawler.demo.server as demo_server_module
from crawler.cache.storage import JsonFilesystemCacheStorage
from crawler.cli.lock import RunLock, UnsafeLockError
from crawler.demo import SITE_DIR
from crawler.demo.server import DemoRequestHandler, DemoServer
from crawler.distributed import serializer
from crawler.distributed.addon import WorkerAddon
from crawler.distributed.queue import BAD_ENTRY_STAT, JsonPriorityQueue
from crawler.distributed.rounds import round_report
from crawler.spiders.news import NewsSpider
from crawler.spiders.scrape import ScrapeSpider
from pipelines.dedupe.neardup import near_signature, text_fingerprint
from pipelines.state.redis_keys import RedisKeys
from pipelines.state.sqlite_store import SQLiteStore
from tests.conftest import REPO, crawl_args, run_cli, run_reports, sealed_records
from tests.servers.redis_server import RedisServer

DEMO_REGISTRY = SITE_DIR.parent / "sources.yaml"
PRIVATE = ("-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1")
QUEUE_KEY = RedisKeys("autonews").queue("news")
SECRETS = (b"AUTHSECRET", b"PROXYSECRET", b"COOKIESECRET", b"SESSIONSECRET")


class _Touch:
    """Unpickling this runs ``touch <path>``: the remote-code-execution payload of the attacks."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"touch {shlex.quote(str(self.path))}",)


def evil_pickle(marker: Path, protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    """A pickle that creates ``marker`` when loaded."""
    return pickle.dumps(_Touch(marker), protocol=protocol)


def test_the_payload_is_live(tmp_path: Path) -> None:
    """Control: what scrapy-redis and Scrapy's cache would do with the payload runs it."""
    marker = tmp_path / "control"
    picklecompat.loads(evil_pickle(marker))
    assert marker.exists()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the module; each test flushes it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the emptied server."""
    c = redis_server.client()
    c.flushall()
    yield c
    c.close()


def _entry(**fields: Any) -> bytes:
    """A queue entry as :func:`serializer.dumps` lays it out, with ``fields`` changed (raw JSON, unchecked)."""
    entry = {"v": 1, "url": "http://127.0.0.1:9/a/", "method": "GET", "callback": "parse_article",
             "errback": "on_error", "headers": {}, "body": "", "cookies": {}, "meta": {}, "encoding": "utf-8",
             "flags": [], "cb_kwargs": {}, "priority": 0, "dont_filter": False}
    entry.update(fields)
    return json.dumps(entry).encode()


def bad_entries(marker: Path) -> dict[str, bytes]:
    """Entries a worker must drop, by what is wrong with them."""
    return {
        "pickle": evil_pickle(marker),
        "ascii pickle": evil_pickle(marker, protocol=0),  # no 0x80 byte in front: must fail as JSON
        "invalid json": b'{"v": 1, "url": ',
        "not utf-8": b"\xff\xfe{}",
        "json array": b'["http://127.0.0.1:9/a/"]',
        "wrong type": _entry(url=["http://127.0.0.1:9/a/"]),
        "foreign callback": _entry(callback="close"),
        "private callback": _entry(callback="__init__"),
        "foreign errback": _entry(errback="parse_article.__globals__"),
        "request class": _entry(_class="scrapy.http.JsonRequest"),
        "file url": _entry(url="file:///etc/passwd"),
        "data url": _entry(url="data:text/html,hi"),
        "header injection": _entry(headers={"X-A": ["1\r\nHost: evil"]}),
        "bytes not base64": _entry(body="not base64!"),
        "cb_kwargs": _entry(cb_kwargs={"response": 1}),
        "post": _entry(method="POST"),
        "old format": _entry(v=0),
        "nan": _entry().replace(b'"meta": {}', b'"meta": {"x": NaN}'),
        "too large": _entry(meta={"x": "y" * serializer.MAX_ENTRY_BYTES}),
    }


# --- the request queue: serializer and queue, in process -------------------------------------------


@pytest.fixture
def news_spider() -> NewsSpider:
    """The registry spider on the demo registry (its crawler gives stats and signals)."""
    crawler = get_crawler(NewsSpider, {
        "AUTONEWS_SOURCES": str(DEMO_REGISTRY),
        "AUTONEWS_SUBSTITUTIONS": {"{{BASE}}": "http://127.0.0.1:9"},
        "EXTENSIONS_BASE": {},  # no crawl runs: nothing must expect spider_opened before spider_closed
    })
    spider = NewsSpider.from_crawler(crawler)
    crawler.spider = spider
    return spider


def test_the_spiders_requests_survive_the_queue_format(news_spider: NewsSpider) -> None:
    requests = list(news_spider.seed_requests())
    assert {r.callback.__name__ for r in requests} == {"parse_feed", "parse_sitemap", "parse_section"}
    article = news_spider.article_request("http://127.0.0.1:9/evpulse/a/", "evpulse",
                                          autonews_published="2024-01-01", autonews_language="en")
    # What redirects and retries add before a request is queued again, and bytes that are not UTF-8.
    article = article.replace(body=b"\x00\xff", headers={"X-Raw": b"caf\xe9"}, priority=-2, meta={
        **article.meta, "redirect_urls": ["http://127.0.0.1:9/old"], "redirect_times": 1, "retry_times": 1,
        "depth": 2, "redirect_reasons": [301]})
    for request in [*requests, article]:
        original = request.to_dict(spider=news_spider)
        data = serializer.dumps(original)
        assert data.startswith(b"{") and b"\x80" not in data
        restored = request_from_dict(serializer.loads(data), spider=news_spider)
        assert restored.to_dict(spider=news_spider) == original
        assert restored.callback == request.callback and restored.errback == request.errback


def test_queued_meta_cannot_route_or_unleash_a_worker(news_spider: NewsSpider) -> None:
    """Only the project's own and Scrapy's bookkeeping meta keys survive the queue."""
    article = news_spider.article_request("http://127.0.0.1:9/a/", "evpulse")
    hostile = {"proxy": "http://127.0.0.2:3128", "bindaddress": ("127.0.0.2", 0), "download_maxsize": 0,
               "dont_obey_robotstxt": True, "download_latency": 0.25, "depth": 1}
    entry = article.replace(meta={**article.meta, **hostile}).to_dict(spider=news_spider)
    meta = serializer.loads(serializer.dumps(entry))["meta"]
    assert meta == {**article.meta, "depth": 1}


def test_every_callback_the_spiders_use_is_allowed_and_nothing_else() -> None:
    """The allow-list is exactly the methods the spiders pass as callbacks and errbacks."""
    referenced: set[str] = set()
    for path in (REPO / "crawler" / "spiders").glob("*.py"):
        # self.name not followed by "(": a method handed over, not called
        for name in re.findall(r"self\.(\w+)\b(?!\s*\()", path.read_text(encoding="utf-8")):
            if name.startswith("_"):  # a private method handed to the reactor (a timer), never to a request
                continue
            if any(callable(getattr(cls, name, None)) and not isinstance(getattr(cls, name), type)
                   for cls in (NewsSpider, ScrapeSpider)):
                referenced.add(name)
    assert referenced == serializer.CALLBACKS | serializer.ERRBACKS
    for name in referenced:
        assert getattr(NewsSpider, name).__module__.startswith("crawler.spiders.")


@pytest.mark.parametrize("kind", sorted(bad_entries(Path("/nonexistent"))))
def test_serializer_refuses(kind: str, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    with pytest.raises(serializer.BadQueueEntry):
        serializer.loads(bad_entries(marker)[kind])
    assert not marker.exists()


def test_dumps_refuses_what_workers_would_drop(news_spider: NewsSpider) -> None:
    good = news_spider.article_request("http://127.0.0.1:9/a/", "evpulse").to_dict(spider=news_spider)
    for change in ({"url": "file:///etc/passwd"}, {"_class": "scrapy.http.JsonRequest"}, {"callback": "start"}):
        with pytest.raises(ValueError):
            serializer.dumps({**good, **change})
    with pytest.raises(TypeError):  # meta that is not plain JSON
        serializer.dumps({**good, "meta": {"x": object()}})


def test_queue_drops_bad_entries_counts_them_and_pops_the_next(
        client: redis.Redis, news_spider: NewsSpider, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    marker = tmp_path / "owned"
    queue = JsonPriorityQueue(client, news_spider, "autonews:%(spider)s:requests", serializer=picklecompat)
    first = news_spider.article_request("http://127.0.0.1:9/1/", "evpulse")
    second = news_spider.article_request("http://127.0.0.1:9/2/", "evpulse")
    queue.push(first)
    queue.push(second.replace(priority=-1))
    bad = bad_entries(marker)
    for kind, data in bad.items():  # popped before the good ones (lower score = higher priority), the pickle first
        client.execute_command("ZADD", QUEUE_KEY, -200 if kind == "pickle" else -100, data)
    with caplog.at_level(logging.WARNING, logger="crawler.distributed.queue"):
        popped = [queue.pop(), queue.pop(), queue.pop()]
        news_spider.crawler.signals.send_catch_log(signals.spider_closed, spider=news_spider, reason="finished")
    assert [r.url if r else None for r in popped] == [first.url, second.url, None]
    assert popped[0].callback == news_spider.parse_article and popped[0].errback == news_spider.on_error
    assert not marker.exists()
    assert news_spider.crawler.stats.get_value(BAD_ENTRY_STAT) == len(bad)
    assert client.zcard(QUEUE_KEY) == 0  # dropped, not left to be popped again
    assert f"Dropped {len(bad)} bad entries of the shared request queue {QUEUE_KEY} this run" in caplog.text
    assert "a pickle, not JSON" in caplog.text
    assert str(marker) not in caplog.text  # the payload is not logged in full
    assert len(caplog.text) < 10_000  # nor the 256 KiB one


def test_worker_mode_forces_the_json_queue() -> None:
    from scrapy.settings import Settings

    settings = Settings({"AUTONEWS_REDIS_URL": "redis://127.0.0.1:1/0", "EXTENSIONS": {}, "SPIDER_MIDDLEWARES": {}})
    # Even an explicit pickle serializer on the command line does not bring pickle back.
    settings.set("SCHEDULER_SERIALIZER", "scrapy_redis.picklecompat", priority="cmdline")
    settings.set("SCHEDULER_QUEUE_CLASS", "scrapy_redis.queue.PriorityQueue", priority="cmdline")
    WorkerAddon().update_settings(settings)
    assert settings["SCHEDULER_SERIALIZER"] == "crawler.distributed.serializer"
    assert settings["SCHEDULER_QUEUE_CLASS"] == "crawler.distributed.queue.JsonPriorityQueue"


# --- the request queue: a real worker -----------------------------------------------------------


def test_worker_drops_poisoned_queue_entries_and_crawls_the_rest(
        client: redis.Redis, redis_server: RedisServer, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    with DemoServer() as site:
        subst = ("-s", f"AUTONEWS_SUBSTITUTIONS={json.dumps({'{{BASE}}': site.base_url})}")
        # `autonews seed` (SeedOnlyScheduler) fills the queue: every entry it writes is JSON a worker accepts.
        seeded = run_cli("seed", "--redis", redis_server.url, "--sources", str(DEMO_REGISTRY), *subst, *PRIVATE,
                         cwd=tmp_path)
        assert seeded.returncode == 0, seeded.stderr
        entries = client.zrange(QUEUE_KEY, 0, -1)
        assert entries and all(serializer.loads(e)["callback"] for e in entries)
        # Then someone with access to Redis adds entries that are popped first.
        bad = bad_entries(marker)
        for data in bad.values():
            client.execute_command("ZADD", QUEUE_KEY, -100, data)
        out = tmp_path / "out"
        log = tmp_path / "worker.log"
        worker = run_cli("crawl", "--redis", redis_server.url, "--sources", str(DEMO_REGISTRY), "--output", str(out),
                         *subst, *PRIVATE, "-s", "AUTONEWS_WORKER_ID=w1", "-s", "AUTONEWS_REDIS_IDLE_SECONDS=1",
                         "-s", "AUTONEWS_POOL_PROCESSES=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                         "-s", "DOWNLOAD_DELAY=0", "--log-file", str(log), cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert not marker.exists()
    stats = run_reports(out)[-1]["stats"]
    assert stats[BAD_ENTRY_STAT] == len(bad)
    assert stats["autonews/errors/total"] == len(bad)  # nothing else went wrong
    assert round_report(client, RedisKeys("autonews"))["stats"][BAD_ENTRY_STAT] == len(bad)
    assert sealed_records(out)  # the seeded requests after the bad ones were crawled
    assert client.zcard(QUEUE_KEY) == 0
    text = log.read_text(encoding="utf-8")
    assert f"Dropped {len(bad)} bad entries of the shared request queue" in text
    assert str(marker) not in text


# --- the HTTP cache -----------------------------------------------------------------------------


def _cache_crawler(tmp_path: Path, gzip: bool = False) -> tuple[JsonFilesystemCacheStorage, scrapy.Spider]:
    crawler = get_crawler(NewsSpider, {"HTTPCACHE_DIR": str(tmp_path / "cache"), "HTTPCACHE_GZIP": gzip})
    spider = NewsSpider()
    spider._set_crawler(crawler)
    storage = JsonFilesystemCacheStorage(crawler.settings)
    storage.open_spider(spider)
    return storage, spider


def _feed_exchange() -> tuple[scrapy.Request, Response]:
    request = scrapy.Request("http://127.0.0.1:9/feed.xml", headers={
        "Authorization": "Bearer AUTHSECRET", "Proxy-Authorization": "Basic PROXYSECRET",
        "Cookie": "c=COOKIESECRET", "Cache-Control": "max-age=0"})
    response = TextResponse(request.url, status=200, body=b"<rss>\xc3\xa9</rss>", request=request, headers={
        "Content-Type": "application/rss+xml; charset=utf-8", "ETag": '"v1"',
        "Set-Cookie": ["session=SESSIONSECRET; Path=/", "other=COOKIESECRET"]})
    return request, response


def _tree(root: Path) -> list[Path]:
    return [root, *sorted(root.rglob("*"))]


def assert_private_and_clean(root: Path) -> None:
    """Directories 0700, files 0600, no pickle and no secret anywhere under ``root``."""
    assert root.is_dir()
    for path in _tree(root):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
        if path.is_file():
            assert path.name not in {"pickled_meta", "response_data", "meta"}, path
            data = path.read_bytes()
            for secret in (*SECRETS, b"Set-Cookie", b"Authorization", b"Cookie:"):
                assert secret not in data, (path, secret)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, so that a file created without an explicit mode would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("gzip", [False, True])
def test_cache_round_trip_is_json_private_and_without_secrets(tmp_path: Path, gzip: bool, umask_022: None) -> None:
    storage, spider = _cache_crawler(tmp_path, gzip)
    request, response = _feed_exchange()
    storage.store_response(spider, request, response)
    assert_private_and_clean(tmp_path / "cache")
    entry = Path(storage._get_request_path(spider, request))
    assert {p.name for p in entry.iterdir()} == {
        "meta.json", "response_headers", "response_body", "request_headers", "request_body"}
    fresh = scrapy.Request(request.url)
    cached = storage.retrieve_response(spider, fresh)
    assert cached is not None
    assert (cached.status, cached.url, cached.body) == (200, response.url, response.body)
    assert cached.headers["ETag"] == b'"v1"' and "Set-Cookie" not in cached.headers
    assert type(cached).__name__ == "XmlResponse"  # guessed from the headers, not named on disk
    assert isinstance(fresh.meta["cache_timestamp"], float)


def test_cache_never_unpickles(tmp_path: Path, umask_022: None) -> None:
    marker = tmp_path / "owned"
    storage, spider = _cache_crawler(tmp_path)
    request, response = _feed_exchange()
    entry = Path(storage._get_request_path(spider, request))
    # An entry planted in Scrapy's own layout: pickles only, no meta.json.
    stock = FilesystemCacheStorage(spider.crawler.settings)
    stock.open_spider(spider)
    stock.store_response(spider, request, response)
    (entry / "pickled_meta").write_bytes(evil_pickle(marker))
    assert storage.retrieve_response(spider, request) is None  # a miss
    assert not marker.exists()
    with pytest.raises(TypeError):  # control: Scrapy's storage runs it (then chokes on os.system's 0)
        stock.retrieve_response(spider, request)
    assert marker.exists()
    marker.unlink()
    # Stored again by autonews: the pickles are gone; a pickle planted beside meta.json is ignored.
    storage.store_response(spider, request, response)
    assert not (entry / "pickled_meta").exists() and not (entry / "response_data").exists()
    (entry / "pickled_meta").write_bytes(evil_pickle(marker))
    (entry / "response_data").write_bytes(evil_pickle(marker))
    cached = storage.retrieve_response(spider, request)
    assert cached is not None and cached.body == response.body
    assert not marker.exists()
    # Malformed metadata raises (HttpCacheMiddleware counts httpcache/retrieve_error: a miss).
    (entry / "meta.json").write_text('{"status": "200"}')
    with pytest.raises(ValueError):
        storage.retrieve_response(spider, request)
    # A symlink in place of a body is not followed.
    storage.store_response(spider, request, response)
    (entry / "response_body").unlink()
    (entry / "response_body").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").write_bytes(b"not the cached body")
    with pytest.raises(OSError):
        storage.retrieve_response(spider, request)
    storage.store_response(spider, request, response)  # replaces the link, never writes through it
    assert (tmp_path / "elsewhere").read_bytes() == b"not the cached body"
    assert not (entry / "response_body").is_symlink()


def test_cache_closes_an_old_world_readable_cache(tmp_path: Path, umask_022: None) -> None:
    (tmp_path / "cache").mkdir(mode=0o755)
    os.chmod(tmp_path / "cache", 0o755)
    _cache_crawler(tmp_path)
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700


class _CookieHandler(DemoRequestHandler):
    """The demo site, also setting a session cookie on every answer (304s included)."""

    def end_headers(self) -> None:
        self.send_header("Set-Cookie", "session=SESSIONSECRET; Path=/; HttpOnly")
        super().end_headers()


def test_crawl_cache_revalidates_ignores_planted_pickles_and_keeps_no_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_server_module, "DemoRequestHandler", _CookieHandler)
    marker = tmp_path / "owned"
    out = tmp_path / "out"
    cache = out / ".httpcache"
    headers = json.dumps({"Authorization": "Bearer AUTHSECRET", "Proxy-Authorization": "Basic PROXYSECRET",
                          "Cookie": "c=COOKIESECRET", "Accept": "*/*"})
    with DemoServer() as site:
        args = crawl_args(DEMO_REGISTRY, site.base_url, out, *PRIVATE, "-s", f"DEFAULT_REQUEST_HEADERS={headers}")
        first = run_cli(*args, cwd=tmp_path, umask=0o022)
        assert first.returncode == 0, first.stderr
        assert_private_and_clean(cache)
        entries = sorted(p.parent for p in cache.rglob("meta.json"))
        assert entries
        # Someone who can write to the cache plants a pickle in every entry, and one entry is
        # left in Scrapy's own layout (no meta.json).
        for entry in entries:
            (entry / "pickled_meta").write_bytes(evil_pickle(marker))
        feed = next(e for e in entries if "feed.xml" in json.loads((e / "meta.json").read_text())["url"])
        (feed / "meta.json").unlink()
        second = run_cli(*args, cwd=tmp_path, umask=0o022)
    assert second.returncode == 0, second.stderr
    assert not marker.exists()
    stats = run_reports(out)[-1]["stats"]
    # Every other discovery page still costs a 304; the entry without meta.json was a miss.
    assert stats["httpcache/revalidate"] == stats["autonews/discovery/requested"] - 1
    assert stats["httpcache/miss"] >= 1
    assert (feed / "meta.json").exists() and not (feed / "pickled_meta").exists()
    for entry in entries:
        (entry / "pickled_meta").unlink(missing_ok=True)  # the rest were only ignored: checked above
    assert_private_and_clean(cache)


# --- state and lock files -----------------------------------------------------------------------


def test_state_files_are_private(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    text = " ".join(f"word{i} about batteries" for i in range(40))
    assert store.claim("https://a.example/1", fingerprint=text_fingerprint(text), signature=near_signature(text)) is None
    store.commit()
    files = sorted(tmp_path.glob("state.sqlite3*"))
    assert {p.name for p in files} >= {"state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.has_url("https://a.example/1")
    reopened.close()


def test_lock_file_is_private(tmp_path: Path, umask_022: None) -> None:
    lock = RunLock(tmp_path / "state.sqlite3").acquire()
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    lock.release()
    os.chmod(lock.path, 0o644)  # left by an older version
    RunLock(tmp_path / "state.sqlite3").acquire().release()
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600


def test_lock_does_not_follow_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "state.sqlite3.lock").symlink_to(victim)
    with pytest.raises(UnsafeLockError, match="symbolic link"):
        RunLock(tmp_path / "state.sqlite3").acquire()
    assert victim.read_text() == "precious"
    # A dangling link would otherwise create its target.
    (tmp_path / "other.lock").symlink_to(tmp_path / "created")
    with pytest.raises(UnsafeLockError):
        RunLock(tmp_path / "other").acquire()
    assert not (tmp_path / "created").exists()


def test_crawl_refuses_a_symlinked_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / "state.sqlite3.lock").symlink_to(victim)
    # The demo registry on a dead port: should the lock be taken anyway, nothing leaves 127.0.0.1.
    result = run_cli("crawl", "--output", str(out), "--sources", str(DEMO_REGISTRY), *PRIVATE,
                     "-s", 'AUTONEWS_SUBSTITUTIONS={"{{BASE}}": "http://127.0.0.1:9"}', cwd=tmp_path, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "symbolic link" in result.stderr
    assert victim.read_text() == "precious"
