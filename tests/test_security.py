"""Issue 11's attacks, reproduced: rows 1, 2, 4, 5, 8, 9 and 10 (rows 3 and 7: ``test_security_pickle``;
row 6 and off-domain entries: ``test_security_discovery``).

Servers: 127.0.0.1 plays the public source (allowed with ``AUTONEWS_PRIVATE_HOSTS=127.0.0.1``, as
the demo allows its own address), 127.0.0.2 the internal host nothing may reach.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.demo.generate import article as synthetic
from crawler.security.logs import install_log_redaction
from crawler.security.addresses import AddressPolicy, PolicyError, is_public, with_hosts
from pipelines.dedupe.pipeline import DedupePipeline
from pipelines.dedupe.urls import choose_canonical
from pipelines.extract.article import extract_article
from pipelines.items import Article
from pipelines.record import RecordPipeline, build_record
from pipelines.redact import redact
from pipelines.sanitize import clean_text
from pipelines.state.backend import close_store
from pipelines.storage.naming import check_name
from pipelines.storage.pipeline import StoragePipeline
from tests.conftest import ALLOW_LOOPBACK, FAST, make_article, run_cli, run_reports, sealed_records
from tests.servers.redis_server import RedisServer
from tests.servers.routes import Route, RouteServer

CANARY = "INTERNAL-CANARY-7f3a9c"
SECRET = "S3cr3tPassw0rd"


# --- pages ------------------------------------------------------------------------------------------


def page(n: int, title: str, *, canonical: str | None = None, head: str = "", extra: str = "") -> bytes:
    """An article page with ``n``'s synthetic (English, distinct) text."""
    paragraphs = synthetic(random.Random(n), n)["paragraphs"]
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f"<!doctype html><html lang=en><head><title>{title}</title>{link}{head}</head><body><article>"
            f"<h1>{title}</h1>{extra}{paragraphs}</article></body></html>").encode("utf-8")


def secret_page() -> bytes:
    """What the internal host serves: an article full of the canary."""
    return page(999, f"Internal {CANARY}", extra=f"<p>{CANARY} {CANARY} {CANARY}</p>")


def rss(*links: str) -> bytes:
    """An RSS feed listing ``links``."""
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()


def urlset(*links: str) -> bytes:
    """A sitemap listing ``links``."""
    urls = "".join(f"<url><loc>{link}</loc></url>" for link in links)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def sitemap_index(*links: str) -> bytes:
    """A sitemap index listing ``links``."""
    maps = "".join(f"<sitemap><loc>{link}</loc></sitemap>" for link in links)
    return (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}'
            "</sitemapindex>").encode()


def redirect(target: str) -> Route:
    """A 302 to ``target``."""
    return Route(b"", 302, headers={"Location": target})


def registry(path: Path, *sources: dict[str, Any]) -> Path:
    """Write a registry YAML (JSON is YAML) of ``sources``."""
    path.write_text(json.dumps({"sources": list(sources)}), encoding="utf-8")
    return path


def output_text(output: Path) -> str:
    """Everything a crawl left in its output directory (records, reports, logs, state), as text."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in output.rglob("*") if p.is_file())


def crawl(tmp_path: Path, reg: Path, *extra: str, name: str = "out") -> tuple[Any, Path]:
    """Crawl ``reg`` into ``tmp_path/name`` (log file inside it); return the process and the output."""
    output = tmp_path / name
    result = run_cli("crawl", "--sources", str(reg), "--output", str(output), "--log-file", str(output / "crawl.log"),
                     *FAST, *extra, cwd=tmp_path)
    return result, output


@pytest.fixture
def internal() -> Iterator[RouteServer]:
    """The internal host (127.0.0.2): a secret page, a sitemap of it, robots.txt."""
    with RouteServer("127.0.0.2") as server:
        server.routes.update({
            "/secret": Route(secret_page()),
            "/sitemap.xml": Route(urlset(f"{server.base_url}/secret"), content_type="application/xml"),
            "/robots.txt": Route(b"User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/latest/meta-data/": Route(secret_page()),
        })
        yield server


# --- row 1: no request to a non-public address ------------------------------------------------------------


def test_redirects_feeds_and_sitemaps_never_reach_the_internal_host(tmp_path: Path, internal: RouteServer) -> None:
    with RouteServer("127.0.0.1") as public:
        base, inner = public.base_url, internal.base_url
        decimal = int(ipaddress.ip_address("127.0.0.2"))  # a host *name* that resolves to 127.0.0.2
        public.routes.update({
            "/feed.xml": Route(rss(f"{base}/a1", f"{inner}/secret", f"{base}/r-literal", f"{base}/r-name",
                                   f"{base}/r-metadata"), content_type="application/rss+xml"),
            "/sitemap_index.xml": Route(sitemap_index(f"{inner}/sitemap.xml", f"{base}/sitemap-ok.xml"),
                                        content_type="application/xml"),
            "/sitemap-ok.xml": Route(urlset(f"{base}/a2"), content_type="application/xml"),
            "/section.html": Route(f'<html><body><a href="{base}/r-section">more</a></body></html>'.encode()),
            "/a1": Route(page(1, "Ford and Volkswagen widen their van alliance")),
            "/a2": Route(page(2, "Toyota invests in a solid-state battery start-up")),
            "/r-literal": redirect(f"{inner}/secret"),
            "/r-name": redirect(f"http://{decimal}:{internal.port}/secret"),
            "/r-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
            "/r-section": redirect(f"{inner}/secret?via=section"),  # another URL: not a dupefilter drop
        })
        reg = registry(tmp_path / "sources.yaml", {
            "name": "public", "language": "en", "feeds": [f"{base}/feed.xml"],
            "sitemaps": [f"{base}/sitemap_index.xml"], "start_urls": [f"{base}/section.html"]})
        result, output = crawl(tmp_path, reg, *ALLOW_LOOPBACK)
    assert internal.requests == [], internal.requests
    assert CANARY not in output_text(output)
    titles = {r["title"] for r in sealed_records(output)}
    assert titles == {"Ford and Volkswagen widen their van alliance", "Toyota invests in a solid-state battery start-up"}
    report = run_reports(output)[-1]
    # Four redirects refused (literal, a name resolving inside, cloud metadata, a section link's
    # redirect); the direct links to 127.0.0.2 were skipped as off-domain before any request.
    assert report["sources"]["public"]["errors"].get("blocked_address") == 4, (report, result.stderr)
    assert report["sources"]["public"]["discovery"]["skipped_off_domain"] == 2  # the feed item, the child sitemap
    log = (output / "crawl.log").read_text(encoding="utf-8")
    assert log.count("Refused 127.0.0.2 ") == 1  # logged once per host, whatever the number of requests
    assert "Refused 169.254.169.254 " in log and f"Refused {decimal} (127.0.0.2)" in log


def test_default_settings_fetch_no_loopback_at_all(tmp_path: Path, internal: RouteServer) -> None:
    reg = registry(tmp_path / "sources.yaml", {"name": "inner", "language": "en",
                                                "sitemaps": [f"{internal.base_url}/sitemap.xml"]})
    result, output = crawl(tmp_path, reg)  # no AUTONEWS_PRIVATE_HOSTS: nothing non-public is allowed
    assert internal.requests == []
    assert CANARY not in output_text(output)
    assert run_reports(output)[-1]["sources"]["inner"]["errors"] == {"blocked_address": 1}
    assert result.returncode != 0, result.stderr  # a crawl that could fetch nothing says so


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700::1111", True),
    ("127.0.0.2", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("255.255.255.255", False), ("240.0.0.1", False), ("192.0.2.1", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False), ("ff02::1", False),
    ("::ffff:127.0.0.1", False), ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::", False),
    ("2001:0:4136:e378:8000:63bf:80ff:fffd", False),  # Teredo to 127.0.0.2
])
def test_public_addresses_are_told_from_the_rest(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_private_hosts_setting_allows_exactly_what_it_names() -> None:
    policy = AddressPolicy.parse("127.0.0.1, 10.0.0.0/8, ::1, Intranet.Example.")
    assert policy.allows("127.0.0.1", "127.0.0.1") and not policy.allows("127.0.0.2", "127.0.0.2")
    assert policy.allows("wiki", "10.9.8.7") and not policy.allows("wiki", "192.168.0.1")
    assert policy.allows("intranet.example", "192.168.0.1") and not policy.allows("other.example", "192.168.0.1")
    assert policy.allows("x", "::ffff:127.0.0.1")  # the same address, mapped
    assert policy.allows("anything", "8.8.8.8")
    assert not AddressPolicy.parse("").allows("localhost", "127.0.0.1")
    with pytest.raises(PolicyError):
        AddressPolicy.parse("http://10.0.0.1/")
    assert with_hosts("a, b", ["b", "c"]) == "a,b,c"


def test_bad_private_hosts_value_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("crawl", "--demo", "--output", str(tmp_path / "out"), "-s", "AUTONEWS_PRIVATE_HOSTS=not a host!",
                     "-s", "AUTONEWS_DEMO_PORT=0", cwd=tmp_path)
    assert result.returncode == 2 and "AUTONEWS_PRIVATE_HOSTS" in result.stderr


# --- row 2: no local file -------------------------------------------------------------------------------


def test_file_links_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.html"
    secret.write_bytes(secret_page())
    with RouteServer("127.0.0.1") as public:
        base = public.base_url
        links = [f"file://127.0.0.1{secret}", f"file://{secret}", f"file:///{secret}"]
        public.routes.update({
            "/section.html": Route("".join(f'<a href="{u}">x</a>' for u in links).encode()
                                   + f'<a href="{base}/a1">ok</a>'.encode()),
            "/feed.xml": Route(rss(*links), content_type="application/rss+xml"),
            "/a1": Route(page(1, "Hyundai opens a plant in Georgia")),
            "/r-file": redirect(links[0]),
        })
        public.routes["/feed.xml"] = Route(rss(*links, f"{base}/r-file"), content_type="application/rss+xml")
        reg = registry(tmp_path / "sources.yaml", {"name": "public", "language": "en",
                                                    "feeds": [f"{base}/feed.xml"], "start_urls": [f"{base}/section.html"]})
        result, output = crawl(tmp_path, reg, *ALLOW_LOOPBACK)
    assert result.returncode == 0, result.stderr
    assert CANARY not in output_text(output)
    assert [r["title"] for r in sealed_records(output)] == ["Hyundai opens a plant in Georgia"]


def test_scrape_reads_only_named_regular_files_within_the_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    big.write_bytes(page(3, "Kia recalls seats") * 40)
    result = run_cli("scrape", str(big), "-s", f"DOWNLOAD_MAXSIZE={len(big.read_bytes()) - 1}", cwd=tmp_path, timeout=60)
    assert result.returncode == 1 and result.stdout == "" and "errors: 1" in result.stderr
    for target in ("/dev/zero", "ftp://127.0.0.1/a.html", str(tmp_path)):
        result = run_cli("scrape", target, cwd=tmp_path, timeout=60)
        assert result.returncode == 2, (target, result.stderr)
    small = tmp_path / "small.html"
    small.write_bytes(page(4, "BYD ships its first Brazilian cars"))
    result = run_cli("scrape", str(small), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["url"] == small.resolve().as_uri()


# --- rows 4 and 10: odd input loses no article ------------------------------------------------------------


def odd_page(n: int) -> bytes:
    """An article whose JSON-LD holds a lone surrogate and whose body holds control-character references."""
    jsonld = ('<script type="application/ld+json">{"@type":"NewsArticle","headline":"Eve \\ud800 reports",'
              '"author":{"@type":"Person","name":"Eve \\ud800"},"datePublished":"2026-11-30T08:00:00Z"}</script>')
    return page(n, "Eve reports on Rivian", head=jsonld, extra="<p>Control &#1; and &#x1F; references.</p>")


def test_surrogates_and_control_references_are_written_not_lost(tmp_path: Path) -> None:
    with RouteServer("127.0.0.1") as public:
        base = public.base_url
        public.routes.update({"/feed.xml": Route(rss(f"{base}/odd"), content_type="application/rss+xml"),
                              "/odd": Route(odd_page(5))})
        reg = registry(tmp_path / "sources.yaml", {"name": "odd", "language": "en", "feeds": [f"{base}/feed.xml"]})
        result, output = crawl(tmp_path, reg, *ALLOW_LOOPBACK)
        assert result.returncode == 0, result.stderr
        [record] = sealed_records(output)
        assert "\ufffd" in json.dumps(record, ensure_ascii=False) and "\\ud800" not in json.dumps(record)
        assert "\x01" not in record["text"] and "Control" in record["text"]
        again, _ = crawl(tmp_path, reg, *ALLOW_LOOPBACK)
        assert again.returncode == 0 and len(sealed_records(output)) == 1  # stored once, seen after
        scraped = run_cli("scrape", f"{base}/odd", cwd=tmp_path, timeout=60)
    assert scraped.returncode == 0, scraped.stderr
    assert "\ufffd" in json.loads(scraped.stdout)["authors"][0]


def test_control_character_references_do_not_unmake_an_article() -> None:
    body = page(6, "Nissan and Honda talk about a merger", extra="<p>A &#1; B &#0000031; C &#x0B;</p>")
    found = extract_article(body, "https://news.example/a")
    assert found is not None and "\x01" not in found.text and "A B C" in found.text


def test_clean_text_replaces_surrogates_and_drops_controls() -> None:
    assert clean_text("a\ud800b\x00c\x1bd\te\n") == "a\ufffdbcd\te\n"


def storage_pair(tmp_path: Path, state: str) -> tuple[DedupePipeline, StoragePipeline]:
    """Dedupe and storage pipelines sharing one store (SQLite file or Redis URL)."""
    crawler = get_crawler(settings_dict={"AUTONEWS_OUTPUT_DIR": str(tmp_path / "out"), "AUTONEWS_STATE": state})
    dedupe, storage = DedupePipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedupe.open_spider()
    storage.open_spider()
    return dedupe, storage


def story(n: int) -> Article:
    """A distinct article."""
    text = synthetic(random.Random(n), n)["paragraphs"].replace("<p>", "").replace("</p>", "\n")
    return make_article(f"https://news.example/{n}", text, source="site", title=f"Story {n}",
                        fetched_at="2026-11-30T10:00:00+00:00")


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_record_that_cannot_be_written_is_given_back_to_the_state(tmp_path: Path, backend: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with RedisServer() as server:
        state = server.url if backend == "redis" else str(tmp_path / "state.sqlite3")
        dedupe, storage = storage_pair(tmp_path, state)
        fail = {"left": 1}
        original = StoragePipeline.process_item.__globals__["record_line"]

        def flaky(record: dict[str, Any]) -> str:
            if fail["left"]:
                fail["left"] -= 1
                raise RuntimeError("disk says no")
            return original(record)

        monkeypatch.setitem(StoragePipeline.process_item.__globals__, "record_line", flaky)
        with pytest.raises(DropItem):
            storage.process_item(dedupe.process_item(story(1)))
        assert not storage.store.has_url("https://news.example/1")  # not seen: fetched again next run
        assert storage.crawler.stats.get_value("autonews/errors/record") == 1
        storage.process_item(dedupe.process_item(story(2)))  # others are unaffected
        storage.process_item(dedupe.process_item(story(1)))  # the retry is written
        storage.close_spider()
        close_store(storage.crawler)
    records = [json.loads(line) for f in sorted((tmp_path / "out").glob("articles/*/*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["title"] for r in records) == ["Story 1", "Story 2"]


def test_scrape_counts_only_records_that_can_be_written() -> None:
    crawler = get_crawler()
    pipeline = RecordPipeline.from_crawler(crawler)
    good = story(3)
    good.canonical_url, good.fingerprint = good.url, "0" * 64
    assert pipeline.process_item(good)["title"] == "Story 3"
    bad = story(4)
    bad.canonical_url, bad.fingerprint, bad.language = bad.url, "0" * 64, 42  # type: ignore[assignment]
    with pytest.raises(DropItem):
        pipeline.process_item(bad)
    assert crawler.stats.get_value("autonews/written") == 1
    assert crawler.stats.get_value("autonews/errors/record") == 1
    assert build_record(story(5))["text"]  # building alone never raises


# --- row 5: canonical URLs cannot poison another source ---------------------------------------------------


def test_a_canonical_on_another_source_does_not_skip_its_article(tmp_path: Path) -> None:
    with RouteServer("127.0.0.1") as victim, RouteServer("127.0.0.2") as evil:
        evil_page = f"{evil.base_url}/fake"
        target = f"{victim.base_url}/exclusive"
        victim.routes.update({"/feed.xml": Route(rss(target), content_type="application/rss+xml"),
                              "/exclusive": Route(page(7, "GM and LG open a cell plant"))})
        evil.routes.update({"/feed.xml": Route(rss(f"{evil.base_url}/fake"), content_type="application/rss+xml"),
                            "/fake": Route(page(8, "Nothing to see here", canonical=target))})
        reg = registry(tmp_path / "sources.yaml",
                       {"name": "victim", "language": "en", "feeds": [f"{victim.base_url}/feed.xml"]},
                       {"name": "evil", "language": "en", "feeds": [f"{evil.base_url}/feed.xml"]})
        allow = ("-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1,127.0.0.2")  # both play public sources here
        first, output = crawl(tmp_path, reg, *allow, "--source", "evil")
        second, _ = crawl(tmp_path, reg, *allow, "--source", "victim")
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    records = {r["source"]: r for r in sealed_records(output)}
    assert records["evil"]["canonical_url"] == evil_page
    assert records["victim"]["title"] == "GM and LG open a cell plant"
    assert "/exclusive" in victim.requests


def test_canonical_hints_are_believed_on_the_sources_own_hosts_only() -> None:
    page_url = "https://amp.example.com/a"
    assert choose_canonical(page_url, "https://www.example.com/a", ["example.com"]) == "https://www.example.com/a"
    assert choose_canonical(page_url, "/b", []) == "https://amp.example.com/b"
    assert choose_canonical("https://www.example.com/a", "https://example.com/a", []) == "https://example.com/a"
    assert choose_canonical(page_url, "https://victim.example/a", ["example.com"]) == page_url
    assert choose_canonical(page_url, "https://evil-example.com/a", ["example.com"]) == page_url
    assert choose_canonical(page_url, "https://victim.example/a") == "https://victim.example/a"  # trusted caller


# --- row 8: names that become paths ---------------------------------------------------------------------


def test_a_worker_id_with_a_path_in_it_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("crawl", "--demo", "--output", str(work / "out"), "-s", "AUTONEWS_WORKER_ID=a/../../x",
                     "-s", "AUTONEWS_DEMO_PORT=0", cwd=work, timeout=60)
    assert result.returncode == 2 and "AUTONEWS_WORKER_ID" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and "runs" in p.parts) == []
    for good in ("worker-1", "host.example", "a_b"):
        assert check_name("worker id", good) == good
    for bad in ("a/b", "..", ".", "", "a b", "ä"):
        with pytest.raises(ValueError):
            check_name("worker id", bad)


# --- row 9: secrets are redacted --------------------------------------------------------------------------


def test_redis_passwords_never_reach_stderr_logs_or_reports(tmp_path: Path) -> None:
    with RedisServer(extra_args=("--requirepass", SECRET)) as server:
        good = f"redis://:{SECRET}@127.0.0.1:{server.port}/0"
        wrong = f"redis://:Wr0ng{SECRET}@127.0.0.1:{server.port}/0"
        refused = run_cli("crawl", "--demo", "--redis", wrong, "--output", str(tmp_path / "bad"),
                          "-s", "AUTONEWS_DEMO_PORT=0", cwd=tmp_path, timeout=60)
        assert refused.returncode == 1 and SECRET not in refused.stderr and "***" in refused.stderr
        worker = run_cli("crawl", "--demo", "--redis", good, "--output", str(tmp_path / "out"), "-v",
                         "-s", "AUTONEWS_DEMO_PORT=0",
                         "-s", "AUTONEWS_REDIS_IDLE_SECONDS=2", "--log-file", str(tmp_path / "out" / "crawl.log"),
                         cwd=tmp_path, timeout=180)
        stats = run_cli("state", "stats", "--state", good, cwd=tmp_path, timeout=60)
        client = redis.Redis.from_url(good)
        assert client.ping()
        client.close()
    assert worker.returncode == 0, worker.stderr
    assert sealed_records(tmp_path / "out")
    assert SECRET not in worker.stderr + worker.stdout + output_text(tmp_path / "out")
    assert stats.returncode == 0 and SECRET not in stats.stdout and "***" in stats.stdout


def test_every_log_line_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent
    logging.getLogger("autonews.test").warning("cannot use %s: %s", f"redis://:{SECRET}@h:1/0", {"REDIS_URL": f"redis://u:{SECRET}@h/0"})
    assert SECRET not in caplog.text and "redis://:***@h:1/0" in caplog.text


def test_redact_masks_url_passwords_and_secret_parameters() -> None:
    assert redact("cannot use redis://:pw@h:1/0 now") == "cannot use redis://:***@h:1/0 now"
    assert redact("rediss://user:p%40ss@h/0") == "rediss://user:***@h/0"
    assert redact("redis://h:6379/0?password=x&db=1") == "redis://h:6379/0?password=***&db=1"
    assert redact("mail me at a@b.example") == "mail me at a@b.example"


# --- row 6 (the rest is in test_security_discovery): stored articles do not use up a source's cap ---------


def test_articles_stored_earlier_do_not_count_against_the_source_cap(tmp_path: Path) -> None:
    with RouteServer("127.0.0.1") as public:
        base = public.base_url
        public.routes["/sitemap.xml"] = Route(urlset(*(f"{base}/s{n}" for n in range(3))), content_type="application/xml")
        for n in range(3):
            public.routes[f"/s{n}"] = Route(page(20 + n, f"Story number {n} about batteries"))
        reg = registry(tmp_path / "sources.yaml", {"name": "capped", "language": "en",
                                                    "sitemaps": [f"{base}/sitemap.xml"]})
        cap = ("-s", "AUTONEWS_MAX_ARTICLES_PER_SOURCE=2")
        first, output = crawl(tmp_path, reg, *ALLOW_LOOPBACK, *cap)
        assert first.returncode == 0, first.stderr
        assert len(sealed_records(output)) == 2
        assert run_reports(output)[-1]["stats"]["autonews/skipped/source_cap"] == 1
        assert run_reports(output)[-1]["sources"]["capped"]["discovery"]["skipped_cap"] == 1
        second, _ = crawl(tmp_path, reg, *ALLOW_LOOPBACK, *cap)
    assert second.returncode == 0, second.stderr
    assert len(sealed_records(output)) == 3  # the two stored did not use up the cap of two
    assert "autonews/skipped/source_cap" not in run_reports(output)[-1]["stats"]


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_releasing_an_unwritable_new_version_keeps_the_stored_one(tmp_path: Path, backend: str) -> None:
    """A re-fetched article's new text whose record cannot be written is offered again, not lost."""
    from pipelines.dedupe.neardup import near_signature, text_fingerprint
    from pipelines.state.backend import open_state
    from pipelines.state.store import NewVersion

    url = "https://news.example/updated"
    first, second = story(11).text, story(12).text
    with RedisServer() as server:
        store = open_state(server.url if backend == "redis" else str(tmp_path / "state.sqlite3"))
        assert store.claim(url, fingerprint=text_fingerprint(first), signature=near_signature(first)) is None
        store.commit()
        staged = store.claim(url, fingerprint=text_fingerprint(second), signature=near_signature(second), update=True)
        assert isinstance(staged, NewVersion) and staged.version == 2
        store.release(url)  # its record could not be written
        store.commit()
        stored = store.find_article(url)
        assert stored is not None and stored.version == 1 and stored.fingerprint == text_fingerprint(first)
        again = store.claim(url, fingerprint=text_fingerprint(second), signature=near_signature(second), update=True)
        assert isinstance(again, NewVersion) and again.version == 2  # offered again next time
        store.close()
