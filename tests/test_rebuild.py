"""``autonews state rebuild``: the dedupe state recovered from the sealed files, through the CLI, on SQLite
and on a real Redis; and a crawl that refuses an unreadable state (exit 3) or warns about a missing one."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawler.cli.lock import RunLock
from crawler.demo.generate import generate_site
from crawler.demo.server import DemoServer
from pipelines.storage.manifest import read_manifest
from tests.conftest import crawl_args, free_demo_port, run_cli, run_reports, sealed_records
from tests.servers.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the module; each test flushes it."""
    with RedisServer() as server:
        yield server


def _state_args(backend: str, request: pytest.FixtureRequest) -> list[str]:
    """``--state`` for the backend (SQLite: the default file under the output), its server flushed."""
    if backend == "sqlite":
        return []
    server = request.getfixturevalue("redis_server")
    server.client().flushall()
    return ["--state", server.url]


def _ok(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    return proc


def _last_stats(output: Path) -> dict[str, Any]:
    return run_reports(output)[-1]["stats"]


def _fetched(stats: dict[str, Any]) -> dict[str, int]:
    """What a run fetched and wrote: article pages let through per source and skipped as seen, pages that
    reached the dedupe stage (every fetched article page does), records written."""
    keys = [k for k in stats if k.endswith("/new") or k.endswith("/pages")]
    out = {k: stats[k] for k in keys}
    out["seen"] = stats.get("autonews/skipped/seen_url", 0)
    out["deduplicated"] = sum(v for k, v in stats.items() if k.startswith("autonews/dedupe/"))
    out["written"] = stats.get("autonews/written", 0)
    return out


# --- acceptance: a lost state, rebuilt, is the state the crawls left ---------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_lost_state_rebuilt_from_the_output_makes_the_next_crawl_fetch_and_write_nothing_again(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    out = tmp_path / "output"
    state = _state_args(backend, request)
    crawl = ["crawl", "--demo", *free_demo_port(), "--output", str(out), *state]
    first = _ok(run_cli(*crawl, cwd=tmp_path))
    assert "warning" not in first.stderr  # a first run into an empty output stays silent
    _ok(run_cli(*crawl, cwd=tmp_path))
    before = _fetched(_last_stats(out))
    assert before["written"] == 0 and before["deduplicated"] == 0 and before["seen"] > 0

    if backend == "sqlite":
        for name in ("state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"):
            (out / name).unlink(missing_ok=True)
        # a crawl now would start from nothing: it says so, and names the remedy
        elsewhere = tmp_path / "copy"
        shutil.copytree(out, elsewhere)
        lost = _ok(run_cli("crawl", "--demo", *free_demo_port(), "--output", str(elsewhere), cwd=tmp_path))
        assert "warning: no dedupe state at" in lost.stderr and "autonews state rebuild --output" in lost.stderr
    else:
        request.getfixturevalue("redis_server").client().flushall()

    records = sealed_records(out)
    rebuilt = _ok(run_cli("state", "rebuild", "--output", str(out), *state, cwd=tmp_path))
    assert f"files: 1, records: {len(records)}, articles: {len(records)}, versions: 0" in rebuilt.stderr
    assert "skipped files: 0" in rebuilt.stderr
    assert "rebuild: files" not in rebuilt.stderr  # no progress lines without a terminal or --progress

    _ok(run_cli(*crawl, cwd=tmp_path))
    after = _fetched(_last_stats(out))
    assert after == before  # not one article page fetched again, nothing written: as before the loss
    assert len(sealed_records(out)) == len(records)


def _syndicate(site: Path, slug: str, new_slug: str) -> None:
    """Publish a syndicated copy of one article under a new URL: another headline, its first paragraph dropped."""
    page = (site / "articles" / slug / "index.html").read_text(encoding="utf-8")
    head, _, rest = page.partition("<p>")
    paragraphs = ("<p>" + rest).split("</p>")
    head = head.replace("<title>", "<title>Wire: ").replace(f"/articles/{slug}/", f"/articles/{new_slug}/")
    copy = head + "</p>".join(paragraphs[1:])
    target = site / "articles" / new_slug
    target.mkdir()
    (target / "index.html").write_text(copy, encoding="utf-8")
    sitemap = site / "sitemap.xml"
    entry = f"<url><loc>{{{{BASE}}}}/articles/{new_slug}/</loc></url>"
    sitemap.write_text(sitemap.read_text(encoding="utf-8").replace("</urlset>", entry + "</urlset>"), encoding="utf-8")


def _edit(site: Path, slug: str, correction: str) -> None:
    """Correct one article and give its sitemap entry a newer <lastmod>, as a CMS does."""
    page = site / "articles" / slug / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</article>", f"<p>{correction}</p></article>"),
                    encoding="utf-8")
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    edited = moment.isoformat()
    # a date still to come is not believed (recheck/future_modified): the next crawl must not read it early
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds() + 0.05))
    sitemap = site / "sitemap.xml"
    entry = f"<url><loc>{{{{BASE}}}}/articles/{slug}/</loc>"
    text = re.sub(re.escape(entry) + r"(<lastmod>[^<]*</lastmod>)?", lambda _: entry + f"<lastmod>{edited}</lastmod>",
                  sitemap.read_text(encoding="utf-8"))
    sitemap.write_text(text, encoding="utf-8")


CORRECTION = ("Correction: an earlier version of this story misstated the size of the investment; "
              "the company said it will spend 410 million dollars, not 140 million.")
UPDATE = "Update: the regional government approved the tax credits on Tuesday evening, the company said."


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_after_a_rebuild_copies_are_still_dropped_and_updates_still_become_the_next_version(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    site, out = tmp_path / "site", tmp_path / "out"
    registry = generate_site(site, 10)
    state = _state_args(backend, request)
    with DemoServer(root=site) as server:
        # re-checked at once: by default an article is looked at again only a day after its last fetch
        args = crawl_args(registry, server.base_url, out, *state, "-s", "AUTONEWS_RECHECK_MIN_HOURS=0")
        _ok(run_cli(*args, cwd=tmp_path))
        _edit(site, "story-000003", CORRECTION)
        _ok(run_cli(*args, cwd=tmp_path))  # version 2 of story 3
        before = sealed_records(out)
        [v2] = [r for r in before if r["version"] == 2]
        assert len(before) == 11 and v2["canonical_url"].endswith("/articles/story-000003/")

        if backend == "sqlite":
            (out / "state.sqlite3").unlink()
        else:
            request.getfixturevalue("redis_server").client().flushall()
        rebuilt = _ok(run_cli("state", "rebuild", "--output", str(out), *state, cwd=tmp_path))
        assert "records: 11, articles: 10, versions: 1" in rebuilt.stderr

        _syndicate(site, "story-000001", "wire-copy-of-story-1")  # met for the first time, after the rebuild
        _edit(site, "story-000003", UPDATE)
        _ok(run_cli(*args, cwd=tmp_path))

    new = [r for r in sealed_records(out) if r not in before]
    assert len(new) == 1, [(r["canonical_url"], r["version"]) for r in new]
    [v3] = new
    assert (v3["canonical_url"], v3["version"], v3["previous_fingerprint"]) == (v2["canonical_url"], 3, v2["fingerprint"])
    stats = _last_stats(out)
    assert stats.get("autonews/dropped/near_duplicate") == 1  # the copy, never written
    assert stats.get("autonews/dedupe/new_version") == 1
    assert stats.get("autonews/dedupe/unique", 0) == 0  # nothing stored came back as new


# --- a damaged state: exit 3, then repaired --------------------------------------------------------------

@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A generated site crawled twice with 4 new articles between: an output with two sealed files and its
    SQLite state; the site stays served (tests copy the output before changing it)."""
    root = tmp_path_factory.mktemp("crawled")
    site, out = root / "site", root / "out"
    registry = generate_site(site, 10)
    with DemoServer(root=site) as server:
        _ok(run_cli(*crawl_args(registry, server.base_url, out), cwd=root))
        generate_site(site, 14)  # the same ten (same seed) and four more
        _ok(run_cli(*crawl_args(registry, server.base_url, out), cwd=root))
        assert len(read_manifest(out)) == 2 and len(sealed_records(out)) == 14
        yield {"registry": registry, "server": server, "out": out}


def _copy(crawled: dict[str, Any], tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(crawled["out"], out)
    return out


def _articles(out: Path, *state: str) -> int:
    proc = _ok(run_cli("state", "stats", "--output", str(out), *state, cwd=out.parent))
    return json.loads(proc.stdout)["articles"]


def test_a_state_truncated_to_half_stops_the_crawl_with_exit_3_and_rebuild_force_repairs_it(
        crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    args = crawl_args(crawled["registry"], crawled["server"].base_url, out)
    state = out / "state.sqlite3"
    os.truncate(state, state.stat().st_size // 2)

    broken = run_cli(*args, cwd=tmp_path)
    assert broken.returncode == 3, broken.stderr
    assert "Traceback" not in broken.stderr
    assert f"the state at {state} is unreadable: " in broken.stderr
    assert f"rebuild it with `autonews state rebuild --output {out}`" in broken.stderr
    assert len(list((out / "runs").glob("*.json"))) == 2  # no run was made: only the fixture's two reports

    repaired = _ok(run_cli("state", "rebuild", "--force", "--progress", "--output", str(out), cwd=tmp_path))
    assert "files: 2, records: 14, articles: 14" in repaired.stderr
    assert "autonews: rebuild: files 1/2, records 10" in repaired.stderr  # --progress (or a terminal)
    again = _ok(run_cli(*args, cwd=tmp_path))
    assert "articles written: 0" in again.stderr
    assert _fetched(_last_stats(out))["deduplicated"] == 0  # every stored article skipped before download


def test_a_corrupt_state_is_never_silently_replaced_by_an_empty_one(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    (out / "state.sqlite3").write_bytes(b"this is not a database, a backup tool wrote over it" * 200)
    broken = run_cli(*crawl_args(crawled["registry"], crawled["server"].base_url, out), cwd=tmp_path)
    assert broken.returncode == 3 and "is unreadable: not a SQLite database" in broken.stderr, broken.stderr
    assert (out / "state.sqlite3").read_bytes().startswith(b"this is not")  # untouched
    # an unreadable state needs no --force: there is nothing in it to lose
    _ok(run_cli("state", "rebuild", "--output", str(out), cwd=tmp_path))
    assert _articles(out) == 14


def test_a_readable_state_is_kept_unless_forced(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    before = (out / "state.sqlite3").read_bytes()
    refused = run_cli("state", "rebuild", "--output", str(out), cwd=tmp_path)
    assert refused.returncode == 2 and "give --force" in refused.stderr, refused.stderr
    assert (out / "state.sqlite3").read_bytes() == before


def test_a_sealed_file_that_does_not_match_its_manifest_line_is_skipped_and_named(
        crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    first, second = read_manifest(out)
    path = out / second.file
    data = bytearray(path.read_bytes())
    data[data.index(b'"text":"') + 8] ^= 0x01  # one bit of one article's text: same size, other sha256
    path.write_bytes(bytes(data))

    proc = run_cli("state", "rebuild", "--force", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # rebuilt, but not from everything: say so
    assert f"files: 1, records: {first.records}" in proc.stderr and "skipped files: 1" in proc.stderr
    assert f"skipped {second.file}: " in proc.stderr and "does not match its manifest line" in proc.stderr
    assert _articles(out) == first.records  # none of the skipped file's records was trusted


def test_a_failed_rebuild_leaves_the_state_as_it_was(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    before = (out / "state.sqlite3").read_bytes()
    with open(out / "manifest.jsonl", "ab") as fh:
        # a complete line naming a file outside the output: refused outright (a garbled line is only skipped)
        fh.write(json.dumps({"seq": 3, "file": "../../etc/passwd.jsonl", "records": 1, "bytes": 1, "sha256": "0" * 64,
                             "run_id": "r", "sealed_at": "2026-12-01T00:00:00+00:00", "schema_version": 3}).encode()
                 + b"\n")
    proc = run_cli("state", "rebuild", "--force", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 1 and "cannot read the manifest" in proc.stderr, proc.stderr
    assert (out / "state.sqlite3").read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".state")) == []  # no temporary left


def test_rebuild_waits_for_no_crawl_it_takes_the_crawls_lock(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    with RunLock(out / "state.sqlite3"):  # a crawl is running
        proc = run_cli("state", "rebuild", "--force", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 75 and "is using" in proc.stderr, proc.stderr


def test_redis_state_with_keys_of_the_wrong_type_stops_the_crawl_with_exit_3(redis_server: RedisServer,
                                                                            tmp_path: Path) -> None:
    client = redis_server.client()
    client.flushall()
    client.set("autonews:count", "garbage")  # what a stray script or a key clash leaves
    proc = run_cli("crawl", "--demo", *free_demo_port(), "--output", str(tmp_path / "out"),
                   "--state", redis_server.url, cwd=tmp_path)
    assert proc.returncode == 3 and "is unreadable: its keys have the wrong types" in proc.stderr, proc.stderr
    assert f"autonews state rebuild --output {tmp_path / 'out'} --state {redis_server.url}" in proc.stderr


def test_redis_rebuild_replaces_only_the_state_keys_all_at_once(redis_server: RedisServer, crawled: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    client = redis_server.client()
    client.flushall()
    client.set("autonews:round", "7")  # a crawl key: not the state's
    client.hset("autonews:u:0000", "stale", "1")  # a stale state key: replaced
    proc = _ok(run_cli("state", "rebuild", "--force", "--output", str(crawled["out"]), "--state", redis_server.url,
                       cwd=tmp_path))
    assert "files: 2, records: 14, articles: 14" in proc.stderr
    assert client.get("autonews:round") == b"7" and not client.hexists("autonews:u:0000", "stale")
    assert not [k for k in client.scan_iter("autonews:rebuild-*")]  # the temporary prefix is gone
    assert _articles(crawled["out"], "--state", redis_server.url) == 14


def test_a_corrupt_state_stops_a_backfill_with_exit_3_too(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = _copy(crawled, tmp_path)
    state = out / "state.sqlite3"
    os.truncate(state, state.stat().st_size // 2)
    warc = tmp_path / "empty.warc.gz"
    warc.write_bytes(b"")
    broken = run_cli("backfill", "--warc", str(warc), "--sources", str(crawled["registry"]), "--output", str(out),
                     cwd=tmp_path)
    assert broken.returncode == 3 and "Traceback" not in broken.stderr, broken.stderr
    assert f"the state at {state} is unreadable: " in broken.stderr and "autonews state rebuild" in broken.stderr
