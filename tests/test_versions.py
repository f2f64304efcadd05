"""Updated articles: the state keeps each article's latest fingerprint, version and validators (SQLite and
Redis alike), a changed text fetched on purpose becomes the next version, and the seen-URL middleware
decides when to fetch a stored article again."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.discovery.feeds import parse_feed
from crawler.discovery.sitemaps import parse_sitemap
from crawler.middlewares.recheck import RecheckMiddleware
from crawler.middlewares.seen import SeenUrlMiddleware
from pipelines.dedupe.neardup import near_signature, text_fingerprint
from pipelines.dedupe.pipeline import DedupePipeline
from pipelines.state.backend import close_store, open_store
from pipelines.state.redis_store import RedisStore
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.state.store import DedupeStore, NewVersion
from tests.conftest import make_article
from tests.servers.redis_server import RedisServer

V1 = " ".join(f"Paragraph {i}: the plant in Ohio will build {i} thousand battery packs a year." for i in range(40))
V2 = V1 + " Correction: the plant will open in 2027, not 2026 as first reported."
V3 = V2 + " Update: the state approved the tax credits on Tuesday."
URL = "https://a.example/2026/plant/"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the module; each test flushes it."""
    with RedisServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "redis"])
def open_two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """Opens a store on one state; calling it again opens a second connection (another worker) on the same state."""
    opened: list[DedupeStore] = []
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        server.client().flushall()

        def make(instance: str = "w1") -> DedupeStore:
            opened.append(RedisStore(server.url, instance=instance, timeout=60))
            return opened[-1]
    else:
        def make(instance: str = "w1") -> DedupeStore:
            opened.append(SQLiteStore(tmp_path / "state.sqlite3", timeout=1))
            return opened[-1]
    yield make
    for store in opened:
        store.close()


def claim(store: DedupeStore, url: str, text: str, **kw: object) -> object:
    return store.claim(url, fingerprint=text_fingerprint(text), signature=near_signature(text), **kw)


def test_a_changed_text_refetched_on_purpose_is_the_next_version(open_two) -> None:
    store = open_two()
    assert claim(store, URL, V1, etag='"v1"', last_modified="Fri, 20 Nov 2026 10:00:00 GMT", checked=T0) is None
    store.commit()
    stored = store.find_article(URL)
    assert stored is not None
    assert (stored.canonical_url, stored.version, stored.fingerprint) == (URL, 1, text_fingerprint(V1))
    assert (stored.etag, stored.last_modified, stored.checked) == ('"v1"', "Fri, 20 Nov 2026 10:00:00 GMT", T0)

    # not a deliberate re-fetch (another page claiming the same canonical URL): a duplicate, as always
    assert claim(store, URL, V2) == ("duplicate_url", URL)
    # a re-fetch with the same text: nothing to write, but the check is remembered
    assert claim(store, URL, V1, update=True, checked=T0 + timedelta(hours=1)) == ("duplicate_url", URL)
    store.commit()
    assert store.find_article(URL).checked == T0 + timedelta(hours=1)
    # a re-fetch with a changed text: version 2, the previous fingerprint named
    found = claim(store, URL, V2, update=True, etag='"v2"', checked=T0 + timedelta(hours=2))
    assert found == NewVersion(URL, 2, text_fingerprint(V1))
    store.commit()
    stored = store.find_article(URL)
    assert (stored.version, stored.fingerprint, stored.etag) == (2, text_fingerprint(V2), '"v2"')
    assert claim(store, URL, V2, update=True) == ("duplicate_url", URL)  # once written, unchanged again
    assert claim(store, URL, V3, update=True) == NewVersion(URL, 3, text_fingerprint(V2))
    store.commit()

    # syndicated copies of any version are still duplicates of the article
    other = open_two("w2")
    assert claim(other, "https://b.example/copy1", V1) == ("duplicate_text", URL)
    assert claim(other, "https://b.example/copy3", V3) == ("duplicate_text", URL)
    assert claim(other, "https://b.example/near", V3 + " Reporting by a wire service.") == ("near_duplicate", URL)
    assert other.find_article(URL).version == 3


def test_a_syndicated_copys_url_is_never_versioned(open_two) -> None:
    store = open_two()
    copy = "https://b.example/copy/"
    assert claim(store, URL, V1) is None
    assert claim(store, copy, V1 + " Reporting by a wire service.") == ("near_duplicate", URL)
    store.commit()
    # the copy's page, re-fetched with a text of its own: still not an article of ours
    found = claim(store, copy, V3 + " A different wire story entirely.", update=True)
    assert isinstance(found, tuple) and found[0] == "duplicate_url"
    stored = store.find_article(copy)
    assert stored is None or stored.canonical_url != copy or stored.fingerprint is None


def test_a_new_version_counts_only_once_committed(open_two) -> None:
    store = open_two()
    assert claim(store, URL, V1, checked=T0) is None
    store.commit()
    assert claim(store, URL, V2, update=True) == NewVersion(URL, 2, text_fingerprint(V1))
    store.rollback()  # its line could not be written
    stored = store.find_article(URL)
    assert (stored.version, stored.fingerprint) == (1, text_fingerprint(V1))
    assert claim(store, URL, V2, update=True) == NewVersion(URL, 2, text_fingerprint(V1))  # so it is offered again
    store.commit()
    assert open_two("w2").find_article(URL).version == 2


def test_recovered_lines_of_later_versions_restore_the_latest_text(open_two) -> None:
    store = open_two()
    for version, text, previous in ((1, V1, None), (2, V2, text_fingerprint(V1))):
        store.add_record({"url": URL, "canonical_url": URL, "text": text, "fingerprint": text_fingerprint(text),
                          "version": version, "previous_fingerprint": previous, "fetched_at": T0.isoformat()})
        store.commit()
    stored = store.find_article(URL)
    assert (stored.version, stored.fingerprint) == (2, text_fingerprint(V2))
    assert claim(store, URL, V2, update=True) == ("duplicate_url", URL)


def test_redis_a_dead_workers_unwritten_version_is_taken_over(redis_server: RedisServer) -> None:
    redis_server.client().flushall()
    a = RedisStore(redis_server.url, instance="a", timeout=60)
    b = RedisStore(redis_server.url, instance="b", timeout=60)
    assert claim(a, URL, V1) is None
    a.commit()
    assert claim(a, URL, V2, update=True) == NewVersion(URL, 2, text_fingerprint(V1))
    assert claim(b, URL, V2, update=True) == ("duplicate_url", URL)  # a is alive and writing it
    a.forget_instance("a")  # a dies before its line is durable
    assert claim(b, URL, V2, update=True) == NewVersion(URL, 2, text_fingerprint(V1))
    b.commit()
    a.commit()
    assert (a.lost_claims, b.lost_claims) == (1, 0)
    assert b.find_article(URL).version == 2
    # recovery of a's line, as a's heir: b wrote version 2 meanwhile, so the line is not kept
    assert claim(b, URL, V2, update=True, heir="a", version=2) == ("duplicate_url", URL)
    a.close()
    b.close()


def test_a_schema_1_sqlite_state_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE docs (id INTEGER PRIMARY KEY, canonical TEXT NOT NULL, fp INTEGER, mins BLOB, first_seen INTEGER NOT NULL);
        CREATE TABLE urls (h INTEGER PRIMARY KEY, doc INTEGER NOT NULL);
        CREATE TABLE bands (h INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (h, doc)) WITHOUT ROWID;
        INSERT INTO meta VALUES ('schema_version', '1');
    """)
    conn.close()
    # the old layout's rows, as the schema-1 code wrote them
    store = SQLiteStore(path)
    store._conn.execute("DELETE FROM docs")
    store.close()
    conn = sqlite3.connect(path)
    fp = text_fingerprint(V1)
    conn.execute("INSERT INTO docs(id, canonical, fp, first_seen) VALUES (1, ?, ?, ?)",
                 (URL, int.from_bytes(bytes.fromhex(fp[:16]), "little", signed=True), int(T0.timestamp())))
    from pipelines.state.sqlite_store import _hash64
    conn.execute("INSERT INTO urls VALUES (?, 1)", (_hash64(URL),))
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    stored = store.find_article(URL)
    assert (stored.version, stored.fingerprint, stored.checked) == (1, fp[:16], None)
    assert claim(store, URL, V2, update=True) == NewVersion(URL, 2, fp[:16])
    store.commit()
    # through schema 2 (versions) to 3 (what is remembered per URL: the re-fetch budget)
    assert store._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    store.close()


def test_dedupe_pipeline_writes_a_changed_refetch_as_the_next_version(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(tmp_path / "s.sqlite3")})
    pipe = DedupePipeline.from_crawler(crawler)
    pipe.open_spider()
    first = pipe.process_item(make_article(URL, V1, etag='"1"'))
    assert (first.version, first.previous_fingerprint) == (1, None)
    second = pipe.process_item(make_article(URL, V2, recheck=True))
    assert (second.version, second.previous_fingerprint, second.canonical_url) == (2, first.fingerprint, URL)
    assert crawler.stats.get_value("autonews/dedupe/new_version") == 1
    close_store(crawler)


def test_feed_and_sitemap_entries_carry_their_latest_date() -> None:
    feed = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>
        <link href="https://a.example/1"/><published>2026-11-20T08:00:00Z</published>
        <updated>2026-11-21T09:30:00Z</updated></entry></feed>"""
    [entry] = parse_feed(feed, "https://a.example/feed")
    assert (entry.published, entry.modified) == ("2026-11-20T08:00:00+00:00", "2026-11-21T09:30:00+00:00")
    sitemap = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
        <url><loc>https://a.example/1</loc><lastmod>2026-11-22T07:00:00Z</lastmod>
        <news:news><news:publication_date>2026-11-20T08:00:00Z</news:publication_date></news:news></url>
        <url><loc>https://a.example/2</loc><lastmod>2026-11-19</lastmod>
        <news:news><news:publication_date>2026-11-20T08:00:00Z</news:publication_date></news:news></url>
        <url><loc>https://a.example/3</loc></url></urlset>"""
    one, two, three = parse_sitemap(sitemap, "https://a.example/sitemap.xml").entries
    assert (one.published, one.modified) == ("2026-11-20T08:00:00+00:00", "2026-11-22T07:00:00+00:00")
    assert two.modified == "2026-11-20T08:00:00+00:00"  # the news date is later than the lastmod
    assert three.modified is None


def _request(url: str, modified: str | None = None) -> Request:
    return Request(url, meta={"autonews_kind": "article", "autonews_modified": modified})


def _due(mw: RecheckMiddleware, url: str, modified: str | None = None) -> Request | None:
    """The request as the middleware passes it on when it is a re-fetch, else None."""
    request = mw.get_processed_request(_request(url, modified), None)
    assert request is not None
    return request if request.meta.get("autonews_recheck") else None


def test_a_stored_article_is_refetched_when_its_entry_is_newer(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite3"
    store = SQLiteStore(state)
    fetched = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
    claim(store, URL, V1, aliases=["https://a.example/amp/plant/"], etag='"e1"',
          last_modified="Wed, 18 Nov 2026 10:00:00 GMT", checked=fetched)
    store.commit()
    store.close()
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(state)})
    mw = RecheckMiddleware.from_crawler(crawler)
    older, newer = (fetched - timedelta(hours=1)).isoformat(), (fetched + timedelta(hours=1)).isoformat()
    assert _due(mw, URL) is None and _due(mw, URL, older) is None and _due(mw, URL, "not a date") is None
    assert _due(mw, "https://a.example/new/", newer) is None  # not stored: an ordinary request
    # an alias of the article is never re-fetched: it may serve another text
    assert _due(mw, "https://a.example/amp/plant/", newer) is None
    request = _due(mw, URL + "?utm_source=rss", newer)
    assert request is not None and request.dont_filter and 304 in request.meta["handle_httpstatus_list"]
    assert request.headers[b"If-None-Match"] == b'"e1"'
    assert request.headers[b"If-Modified-Since"] == b"Wed, 18 Nov 2026 10:00:00 GMT"
    assert _due(mw, URL, newer) is None  # once a run
    assert crawler.stats.get_value("autonews/recheck/requested") == 1
    # the seen-URL middleware lets the re-fetch through, and still skips the same URL otherwise
    seen = SeenUrlMiddleware.from_crawler(crawler)
    assert seen.process_request(request) is None
    with pytest.raises(IgnoreRequest):
        seen.process_request(_request(URL, newer))
    close_store(crawler)


def test_young_articles_are_rechecked_every_run_when_asked(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite3"
    store = SQLiteStore(state)
    now = datetime.now(timezone.utc)
    claim(store, URL, V1, checked=now - timedelta(seconds=10))
    store.add("https://a.example/old/", fingerprint=text_fingerprint(V2), first_seen=now - timedelta(days=5))
    store.commit()
    store._conn.execute("UPDATE docs SET first_seen = first_seen - 10 WHERE canonical = ?", (URL,))
    store.close()
    for days, refetched in ((0, []), (3, [URL]), (7, [URL, "https://a.example/old/"])):
        # no minimum interval: these articles were fetched seconds ago (test_refetch_budget.py tests it)
        crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(state), "AUTONEWS_RECHECK_DAYS": days,
                                             "AUTONEWS_RECHECK_MIN_HOURS": 0})
        mw = RecheckMiddleware.from_crawler(crawler)
        assert [u for u in (URL, "https://a.example/old/") if _due(mw, u)] == refetched, days
        close_store(crawler)
    # an article stored by this very run is never fetched twice
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(state), "AUTONEWS_RECHECK_DAYS": 7,
                                         "AUTONEWS_RECHECK_MIN_HOURS": 0})
    mw = RecheckMiddleware.from_crawler(crawler)
    claim(open_store(crawler), "https://a.example/fresh/", V3)
    assert _due(mw, "https://a.example/fresh/", (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()) is None
    close_store(crawler)
    with pytest.raises(NotConfigured):  # autonews scrape: nothing is skipped, so nothing is re-fetched
        RecheckMiddleware.from_crawler(get_crawler(settings_dict={"AUTONEWS_SKIP_SEEN": False}))


# --- end to end: the real CLI against a served site ------------------------------------------------

def _set_lastmod(root: Path, slug: str, lastmod: str) -> None:
    """Give one sitemap entry a <lastmod>, as a CMS does when an article is edited."""
    sitemap = root / "sitemap.xml"
    entry = f"<url><loc>{{{{BASE}}}}/articles/{slug}/</loc>"
    text = sitemap.read_text(encoding="utf-8")
    start = text.index(entry)
    end = text.index("</url>", start)
    sitemap.write_text(text[:start] + entry + f"<lastmod>{lastmod}</lastmod>" + text[end:], encoding="utf-8")


def test_an_article_changed_after_publication_is_written_again_as_version_2(tmp_path: Path) -> None:
    import json

    from crawler.demo.generate import generate_site
    from crawler.demo.server import DemoServer
    from tests.conftest import crawl_args, run_cli, run_reports, sealed_records

    site, out = tmp_path / "site", tmp_path / "out"
    registry = generate_site(site, 10)
    with DemoServer(root=site) as server:
        # runs seconds apart: no minimum interval between re-fetches (test_refetch_budget.py tests it)
        args = crawl_args(registry, server.base_url, out, "-s", "AUTONEWS_RECHECK_MIN_HOURS=0")
        assert run_cli(*args, cwd=tmp_path).returncode == 0
        first = sealed_records(out)
        assert len(first) == 10 and {r["version"] for r in first} == {1}
        assert all(r["previous_fingerprint"] is None for r in first)
        [v1] = [r for r in first if r["canonical_url"].endswith("/articles/story-000003/")]

        page = site / "articles" / "story-000003" / "index.html"
        page.write_text(page.read_text(encoding="utf-8").replace(
            "</article>", "<p>Correction: an earlier version of this story misstated the size of the investment; "
                          "the company said it will spend 410 million dollars, not 140 million.</p></article>"),
            encoding="utf-8")
        # the site says it was edited after it was stored (sitemap dates have whole seconds: round up)
        edited = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
        _set_lastmod(site, "story-000003", edited.isoformat())
        # a date still to come is not believed (recheck/future_modified): a quick start must not read it early
        time.sleep(max(0.0, (edited - datetime.now(timezone.utc)).total_seconds() + 0.05))
        second = run_cli(*args, cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        records = sealed_records(out)
        new = [r for r in records if r not in first]
        assert len(records) == 11 and len(new) == 1
        [v2] = new
        assert (v2["version"], v2["canonical_url"], v2["previous_fingerprint"]) == (2, v1["canonical_url"], v1["fingerprint"])
        assert v2["fingerprint"] != v1["fingerprint"] and "Correction:" in v2["text"]
        stats = run_reports(out)[-1]["stats"]
        assert stats["autonews/recheck/requested"] == 1 and stats["autonews/dedupe/new_version"] == 1

        third = run_cli(*args, cwd=tmp_path)  # nothing changed: nothing new
        assert third.returncode == 0, third.stderr
        assert len(sealed_records(out)) == 11

        # a newer date, the same page (a date still to come is not believed: test_refetch_budget.py)
        _set_lastmod(site, "story-000003", datetime.now(timezone.utc).replace(microsecond=0).isoformat())
        fourth = run_cli(*args, cwd=tmp_path)
        assert fourth.returncode == 0, fourth.stderr
        assert len(sealed_records(out)) == 11
        stats = run_reports(out)[-1]["stats"]
        assert stats["autonews/recheck/requested"] == 1 and stats["autonews/recheck/not_modified"] == 1  # a 304

    # a consumer sees both versions, in manifest order
    read = run_cli("read", "--consumer", "x", "--output", str(out), cwd=tmp_path)
    lines = [json.loads(x) for x in read.stdout.splitlines()]
    assert [r["version"] for r in lines].count(2) == 1 and lines[-1]["version"] == 2


def test_redis_recovery_keeps_a_dead_workers_new_version_only_if_nobody_wrote_it(redis_server: RedisServer,
                                                                               tmp_path: Path) -> None:
    import json

    from pipelines.storage.recovery import recover_dead_workers

    crawler = get_crawler()
    for name, taken_over in (("kept", False), ("dropped", True)):
        redis_server.client().flushall()
        url = f"https://a.example/{name}/"
        dead = RedisStore(redis_server.url, instance=f"{name}-1", timeout=60)
        assert claim(dead, url, V1) is None
        dead.commit()
        assert claim(dead, url, V2, update=True) == NewVersion(url, 2, text_fingerprint(V1))
        line = {"url": url, "canonical_url": url, "text": V2, "fingerprint": text_fingerprint(V2), "version": 2,
                "previous_fingerprint": text_fingerprint(V1), "fetched_at": T0.isoformat()}
        part = tmp_path / name / "articles" / "2026-11-20" / f"20261120T100000Z-{name}-1-00001.part"
        part.parent.mkdir(parents=True)
        part.write_text(json.dumps(line) + "\n")
        dead.forget_instance(f"{name}-1")  # killed before committing
        heir = RedisStore(redis_server.url, instance=f"heir-{name}", timeout=60)
        if taken_over:  # another worker met the update meanwhile and wrote it
            assert claim(heir, url, V2, update=True) == NewVersion(url, 2, text_fingerprint(V1))
            heir.commit()
        recover_dead_workers(tmp_path / name, heir, crawler.stats)
        lines = [x for p in (tmp_path / name).glob("articles/*/*.jsonl") for x in p.read_text().splitlines()]
        assert lines == ([] if taken_over else [json.dumps(line)])
        assert not list((tmp_path / name).rglob("*.part"))
        stored = heir.find_article(url)
        assert (stored.version, stored.fingerprint) == (2, text_fingerprint(V2))
        for store in (dead, heir):
            store.close()
