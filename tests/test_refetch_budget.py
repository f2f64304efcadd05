"""What gets fetched again, through the real CLI against a local site (issue 21 finding 3 and the
sitemap-index part of finding 7; issue 23 point 4).

- a sitemap whose ``lastmod`` lies in 2099 and pages whose text changes on every fetch: article fetches
  per run stay within ``AUTONEWS_MAX_ARTICLES_PER_SOURCE``, nothing is written twice, the state stops growing;
- re-fetches of stored articles have their own per-source cap, and versions per day are bounded;
- a 304 records the check, and no article is re-fetched sooner than ``AUTONEWS_RECHECK_MIN_HOURS``;
- child sitemaps of a source whose cap is full are not fetched, and a big index ends with bounded memory;
- a page that is not an article is not fetched again (SQLite and Redis states).
"""

from __future__ import annotations

import html
import json
import time
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.generate import article
from tests.conftest import autonews_cmd, crawl_args, run_cli, run_reports, sealed_records
from tests.servers.redis_server import RedisServer
from tests.benchmarks.rss import run_with_peak_rss
from tests.servers.sitemap_site import LoopbackSite, Page, serve_lazy_index

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{date}T08:00:00+00:00"></head>
<body><main><article><h1>{title}</h1>
{paragraphs}
{update}
</article></main></body></html>
"""
NOT_AN_ARTICLE = b"""<!DOCTYPE html><html lang="en"><head><title>About us</title></head>
<body><nav><a href="/">Home</a></nav><p>Contact the newsroom.</p></body></html>"""
INLINE = ("-s", "AUTONEWS_POOL_PROCESSES=0")  # small crawls: no process pool to start each run


def registry(tmp_path: Path, **fields: str) -> Path:
    """A one-source registry (``src``) for a site served at ``{{BASE}}``."""
    path = tmp_path / "sources.yaml"
    lines = "".join(f"    {key}: ['{{{{BASE}}}}{value}']\n" for key, value in fields.items())
    path.write_text(f"sources:\n  - name: src\n{lines}    language: en\n", encoding="utf-8")
    return path


def changing_article(index: int, etag: str | None = None) -> Callable[[Message], Page]:
    """Article ``index``: its text changes on every fetch, unless ``etag`` is given (then it never changes
    and a request naming that ETag gets a 304)."""
    item = article(random.Random(f"refetch-{index}"), index)
    fetches = iter(range(1, 1_000_000))

    def serve(headers: Message) -> Page:
        """The page as it is at this fetch."""
        if etag is not None:
            if headers.get("If-None-Match") == etag:
                return Page(b"", status=304, headers={"ETag": etag})
            update = ""
        else:
            update = (f"<p>Update {next(fetches)}: the company revised its {index} plant figures again today, "
                      f"adding {random.randint(2, 900)} jobs to the estimate it gave earlier this week.</p>")
        body = PAGE.format(title=html.escape(item["title"]), date=item["date"], paragraphs=item["paragraphs"],
                           update=update).encode()
        return Page(body, headers={"ETag": etag} if etag else {})

    return serve


def urlset(base: str, paths: list[str], lastmod: str | None) -> bytes:
    """A <urlset> of ``paths`` under ``base``, each with ``lastmod`` (none when None)."""
    mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    items = "".join(f"<url><loc>{base}{p}</loc>{mod}</url>\n" for p in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"\n{items}</urlset>\n").encode()


def now_iso() -> str:
    """Now, to the second: a sitemap date after every fetch made so far, and not in the future.

    Cut to the second, "now" may fall before a check recorded earlier in the same second (a quick run on an
    idle machine): waiting for the next second first keeps it after every fetch made so far."""
    time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1e6)
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def crawl(site: LoopbackSite, reg: Path, out: Path, *extra: str) -> dict[str, Any]:
    """One crawl through the CLI; return its run report's stats and how many article pages it fetched."""
    before = site.hit_count("/a/")
    done = run_cli(*crawl_args(reg, site.base_url, out, *INLINE, *extra), cwd=out.parent)
    assert done.returncode in (0, 4), done.stderr[-3000:]
    return {**run_reports(out)[-1]["stats"], "article_fetches": site.hit_count("/a/") - before,
            "report": run_reports(out)[-1]}


def state_stats(out: Path) -> dict[str, Any]:
    """``autonews state stats`` of the crawl's SQLite state."""
    done = run_cli("state", "stats", "--state", str(out / "state.sqlite3"), cwd=out.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_future_lastmod_and_changing_pages_keep_every_run_within_the_cap(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/sitemap.xml")
    paths = [f"/a/{i}/" for i in range(24)]
    with LoopbackSite() as site:
        site.pages = {p: changing_article(i) for i, p in enumerate(paths)}
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, "2099-01-01T00:00:00+00:00"), "application/xml")
        runs, sizes = [], []
        for _ in range(6):  # no minimum interval: only the cap and the disbelief in 2099 bound the runs
            runs.append(crawl(site, reg, out, "-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=8",
                              "-s", "AUTONEWS_RECHECK_MIN_HOURS=0"))
            sizes.append(state_stats(out))
    assert [r["article_fetches"] for r in runs] == [8, 8, 8, 0, 0, 0]
    assert all(r.get("autonews/recheck/requested", 0) == 0 for r in runs)
    assert all(r["autonews/recheck/future_modified"] > 0 for r in runs[1:])  # counted: not believed
    records = sealed_records(out)
    assert len(records) == 24 and {r["version"] for r in records} == {1}
    for key in ("articles", "urls", "band_rows", "prior_fingerprints", "fingerprints"):  # the state stopped growing
        assert sizes[5][key] == sizes[2][key], key


def test_rechecks_have_their_own_cap_and_versions_per_day_are_bounded(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/sitemap.xml")
    paths = [f"/a/{i}/" for i in range(15)]
    budget = ("-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=12", "-s", "AUTONEWS_MAX_RECHECKS_PER_SOURCE=5",
              "-s", "AUTONEWS_RECHECK_MIN_HOURS=0", "-s", "AUTONEWS_MAX_VERSIONS_PER_DAY=2")
    with LoopbackSite() as site:
        site.pages = {p: changing_article(i) for i, p in enumerate(paths)}
        runs = []
        for listed in (12, 15, 15, 15):
            # every entry edited since the last run, as the site says (a date in the past: believed)
            site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths[:listed], now_iso()), "application/xml")
            runs.append(crawl(site, reg, out, *budget))
            if len(runs) >= 3:
                runs[-1]["state"] = state_stats(out)
    first, second, third, fourth = runs
    assert first["article_fetches"] == 12 and first.get("autonews/recheck/requested", 0) == 0
    # 5 re-fetches (their own cap) beside the 3 new articles: neither eats into the other
    assert second["article_fetches"] == 5 + 3 and second["autonews/recheck/requested"] == 5
    assert second["autonews/recheck/skipped_cap"] == 12 - 5
    assert second["report"]["sources"]["src"]["recheck_skipped_cap"] == 12 - 5
    assert second["autonews/dedupe/new_version"] == 5
    assert third["article_fetches"] == 5 and third["autonews/dedupe/new_version"] == 5
    # a third new version the same day is one too many: fetched, counted, not written
    assert fourth["article_fetches"] == 5 and fourth.get("autonews/dedupe/new_version", 0) == 0
    assert fourth["autonews/dropped/version_cap"] == 5
    records = sealed_records(out)
    assert len(records) == 15 + 5 + 5 and max(r["version"] for r in records) == 3
    for key in ("band_rows", "prior_fingerprints", "fingerprints"):  # the excess left the state as it was
        assert fourth["state"][key] == third["state"][key], key


@pytest.mark.parametrize("min_hours", ["0", None])
def test_a_304_records_the_check(tmp_path: Path, min_hours: str | None) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/sitemap.xml")
    paths = [f"/a/{i}/" for i in range(3)]
    extra = ("-s", f"AUTONEWS_RECHECK_MIN_HOURS={min_hours}") if min_hours is not None else ()
    with LoopbackSite() as site:
        site.pages = {p: changing_article(i, etag=f'"e{i}"') for i, p in enumerate(paths)}
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, None), "application/xml")
        assert crawl(site, reg, out, *extra)["article_fetches"] == 3
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, now_iso()), "application/xml")
        second = crawl(site, reg, out, *extra)
        # the same sitemap date: checked since (with the default interval the second run fetched nothing)
        third = crawl(site, reg, out, *extra) if min_hours == "0" else {}
    if min_hours == "0":
        assert second["article_fetches"] == 3 and second["autonews/recheck/not_modified"] == 3
        assert third["article_fetches"] == 0 and third.get("autonews/recheck/requested", 0) == 0
    else:  # the default interval (24 h): the articles were fetched seconds ago
        assert second["article_fetches"] == 0 and second["autonews/recheck/too_soon"] == 3
    assert len(sealed_records(out)) == 3


def test_a_gone_article_records_the_check_and_a_server_error_does_not(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/sitemap.xml")
    paths = [f"/a/{i}/" for i in range(3)]
    with LoopbackSite() as site:
        site.pages = {p: changing_article(i, etag=f'"e{i}"') for i, p in enumerate(paths)}
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, None), "application/xml")
        assert crawl(site, reg, out, *INLINE)["article_fetches"] == 3
        site.pages["/a/0/"] = Page(b"<html><body>Gone</body></html>", status=404)
        site.pages["/a/1/"] = Page(b"<html><body>Gone</body></html>", status=410)
        site.pages["/a/2/"] = Page(b"<html><body>Busy</body></html>", status=503)
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, now_iso()), "application/xml")
        zero = ("-s", "AUTONEWS_RECHECK_MIN_HOURS=0", "-s", "RETRY_ENABLED=False")
        second = crawl(site, reg, out, *zero)
        assert second["article_fetches"] == 3 and second["autonews/recheck/requested"] == 3
        third = crawl(site, reg, out, *zero)  # the same sitemap date: only the 503 is asked again
        assert third["article_fetches"] == 1 and site.hit_count("/a/2/") == 3
    assert len(sealed_records(out)) == 3  # a gone or failing re-fetch takes nothing away


def test_child_sitemaps_are_not_fetched_once_the_source_is_full(tmp_path: Path) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/index.xml")
    with LoopbackSite() as site:
        serve_lazy_index(site, 40, 50)
        stats = crawl(site, reg, out, "-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=60")
        fetched = site.hit_count("/sitemaps/")
    # two children fill the cap; at most two are requested at a time (crawler.spiders.children)
    assert fetched <= 2 + 2, fetched
    assert stats["article_fetches"] == 60
    # the rest: never fetched, or fetched meanwhile and not parsed
    assert stats["autonews/skipped/sitemap_source_full"] == 40 - 2
    assert stats["report"]["sources"]["src"]["discovery"]["skipped_sitemaps"] == 40 - 2
    assert stats.get("autonews/source/src/discovery/failed", 0) == 0  # left out on purpose, not failed


def test_a_big_sitemap_index_ends_with_bounded_memory(tmp_path: Path) -> None:
    """200 children of 5,000 URLs (the issue's 1,000 x 50,000 is measured in tests.benchmarks.sitemap_index)."""
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/index.xml")
    with LoopbackSite() as site:
        serve_lazy_index(site, 200, 5_000)
        done, maxrss_mb = run_with_peak_rss(
            [*autonews_cmd(), *crawl_args(reg, site.base_url, out, *INLINE, "-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=100")],
            tmp_path, timeout=600)
        fetched = site.hit_count("/sitemaps/")
    assert done.returncode in (0, 4), done.stderr[-3000:]
    stats = run_reports(out)[-1]["stats"]
    assert fetched <= 1 + 2, fetched
    assert stats["autonews/source/src/entries"] <= fetched * 5_000
    assert stats["autonews/skipped/sitemap_source_full"] >= 200 - 3
    assert maxrss_mb < 300, maxrss_mb


@pytest.fixture
def redis_state() -> Iterator[str]:
    """A Redis state URI on a redis-server started for the test."""
    with RedisServer() as server:
        yield server.url


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_page_that_is_not_an_article_is_not_fetched_again(tmp_path: Path, backend: str,
                                                             request: pytest.FixtureRequest) -> None:
    out, reg = tmp_path / "out", registry(tmp_path, sitemaps="/sitemap.xml")
    state = ("--state", request.getfixturevalue("redis_state")) if backend == "redis" else ()
    paths = ["/a/0/", "/a/about/"]
    with LoopbackSite() as site:
        site.pages = {"/a/0/": changing_article(0, etag='"e0"'), "/a/about/": Page(NOT_AN_ARTICLE)}
        site.pages["/sitemap.xml"] = Page(urlset(site.base_url, paths, None), "application/xml")
        first = crawl(site, reg, out, *state)
        second = crawl(site, reg, out, *state)
        about_fetches = site.hits["/a/about/"]
        later = crawl(site, reg, out, *state, "-s", "AUTONEWS_NOT_ARTICLE_DAYS=0")  # off: fetched again
        assert site.hits["/a/about/"] == 2
    assert first["autonews/not_article"] == 1 and first["report"]["sources"]["src"]["new_entries"] == 2
    assert about_fetches == 1 and second["article_fetches"] == 0
    assert second.get("autonews/not_article", 0) == 0
    assert second["autonews/skipped/not_article"] == 1
    assert second["report"]["sources"]["src"]["new_entries"] == 0
    assert second["report"]["sources"]["src"]["skipped_not_article"] == 1
    assert later["autonews/not_article"] == 1


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh state, SQLite file or Redis."""
    from pipelines.state.redis_store import RedisStore
    from pipelines.state.sqlite_store import SQLiteStore

    opened = (RedisStore(request.getfixturevalue("redis_state"), instance="w1") if request.param == "redis"
              else SQLiteStore(tmp_path / "state.sqlite3"))
    yield opened
    opened.close()


def test_the_state_keeps_the_text_keys_of_early_versions_only(store: Any) -> None:
    """An article changing 12 times adds text keys for its first INDEXED_VERSIONS versions, not for every one;
    copies of the first, an early and the latest version are still duplicates."""
    from pipelines.dedupe.neardup import near_signature, text_fingerprint
    from pipelines.state.store import INDEXED_VERSIONS, NewVersion

    url = "https://a.example/story/"
    base = " ".join(f"Paragraph {i}: the plant in Ohio will build {i} thousand battery packs a year." for i in range(40))
    texts = [base + f" Update {v}: revised figure {v * 37} megawatt hours." for v in range(1, 13)]

    def claim(owner: str, text: str, **kw: Any) -> Any:
        return store.claim(owner, fingerprint=text_fingerprint(text), signature=near_signature(text), **kw)

    assert claim(url, texts[0]) is None
    store.commit()
    sizes = []
    for version, text in enumerate(texts[1:], start=2):
        assert claim(url, text, update=True) == NewVersion(url, version, text_fingerprint(texts[version - 2]))
        store.commit()
        sizes.append(store.stats()["fingerprints"] if not hasattr(store, "path") else
                     (store.stats()["prior_fingerprints"], store.stats()["band_rows"]))
    assert sizes[-1] == sizes[INDEXED_VERSIONS - 1]  # no growth after the first INDEXED_VERSIONS versions
    assert sizes[0] != sizes[INDEXED_VERSIONS - 2]  # the early ones were kept
    assert claim("https://b.example/copy1", texts[0]) == ("duplicate_text", url)
    assert claim("https://b.example/copy2", texts[1]) == ("duplicate_text", url)
    assert claim("https://b.example/latest", texts[-1]) == ("duplicate_text", url)
    assert claim("https://b.example/near", texts[6] + " Reporting by a wire service.")[0] in ("near_duplicate",
                                                                                               "duplicate_text")
    assert store.find_article(url).version == 12


def test_what_the_state_remembers_per_url(store: Any) -> None:
    """Check times, not-article pages and versions of the day, on both backends; prune forgets the old."""
    from datetime import timedelta

    url, at = "https://a.example/story/", datetime(2026, 11, 20, 23, 0, tzinfo=timezone.utc)
    assert store.url_memory(url) is None
    store.record_check(url, at)
    assert store.record_version(url, at) == 1 and store.record_version(url, at + timedelta(minutes=30)) == 2
    assert store.record_version(url, at + timedelta(hours=2)) == 1  # the next UTC day
    store.record_not_article("https://a.example/about/", at)
    store.commit()
    memory = store.url_memory(url)
    assert (memory.checked, memory.not_article, memory.versions_day, memory.versions) == (
        at, None, (at + timedelta(hours=2)).date(), 1)
    assert store.url_memory("https://a.example/about/").not_article == at
    store.record_check(url, datetime.now(timezone.utc))
    store.commit()
    store.prune(timedelta(days=1))
    assert store.url_memory("https://a.example/about/") is None and store.url_memory(url) is not None
