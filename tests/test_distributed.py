"""Distributed crawling on Redis: atomic claims, seeding, locks, and three real workers (one killed).

Every test talks to a real ``redis-server`` started here on 127.0.0.1 (tests/redis_server.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis

from crawler.demo import SITE_DIR
from crawler.demo.generate import generate_site
from crawler.demo.server import DemoServer
from pipelines.storage.naming import part_instance
from crawler.cli.lock import LockedError
from crawler.distributed.lease import RedisRunLock
from crawler.distributed.rounds import elect_seeder, round_report
from pipelines.dedupe.neardup import near_signature, text_fingerprint
from pipelines.state.redis_keys import RedisKeys
from pipelines.state.redis_store import RedisStore
from tests.conftest import ALLOW_LOOPBACK, WorkerSpawner, demo_manifest, run_cli, sealed_records
from tests.servers.redis_server import RedisServer

TEXT = " ".join(f"word{i} sentence number {i} about cars and batteries" for i in range(60))
GENERATED = 520
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTONEWS_POOL_PROCESSES=1",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "AUTONEWS_REDIS_IDLE_SECONDS=1",
        "-s", "AUTONEWS_REDIS_WORKER_TIMEOUT=3"]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the module; each test flushes it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, emptied for this test."""
    redis_server.client().flushall()
    return redis_server.url


def _variant(text: str, n: int) -> str:
    # A syndicated copy: a few words changed, still far above the near-duplicate threshold.
    words = text.split()
    for i in range(n, len(words), 40):
        words[i] = f"changed{n}x{i}"
    return " ".join(words)


def _race(url: str, claims: list[tuple[str, str]]) -> list[tuple[str, str] | None]:
    """Run one claim per thread, each from its own worker instance, released at the same moment."""
    barrier = threading.Barrier(len(claims))
    results: list[tuple[str, str] | None] = [None] * len(claims)

    def run(i: int, canonical: str, text: str) -> None:
        store = RedisStore(url, instance=f"w{i}", timeout=30)
        barrier.wait()
        results[i] = store.claim(canonical, fingerprint=text_fingerprint(text), signature=near_signature(text))
        store.commit()
        store.client.close()

    threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(claims)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("kind", ["same_url", "same_text", "syndicated"])
def test_exactly_one_worker_wins_a_race(redis_url: str, kind: str) -> None:
    for attempt in range(5):
        redis.Redis.from_url(redis_url).flushall()
        claims = [
            (f"https://a.example/{'x' if kind == 'same_url' else i}/{attempt}",
             _variant(TEXT, i) if kind == "syndicated" else TEXT)
            for i in range(8)
        ]
        results = _race(redis_url, claims)
        winners = [r for r in results if r is None]
        assert len(winners) == 1, results
        expected = {"same_url": "duplicate_url", "same_text": "duplicate_text", "syndicated": "near_duplicate"}[kind]
        assert {r[0] for r in results if r is not None} == {expected}


def test_claim_life_cycle(redis_url: str) -> None:
    a = RedisStore(redis_url, instance="a", timeout=0.5)
    b = RedisStore(redis_url, instance="b", timeout=0.5)
    fp, sig = text_fingerprint(TEXT), near_signature(TEXT)
    assert a.claim("https://a.example/1", aliases=["https://a.example/1?x=1"], fingerprint=fp, signature=sig) is None
    # Pending claims of a live worker count as seen for everybody.
    assert b.has_url("https://a.example/1?x=1")
    assert b.claim("https://b.example/copy", fingerprint=fp) == ("duplicate_text", "https://a.example/1")
    a.rollback()  # released: free again
    assert not b.has_url("https://a.example/1")
    assert a.claim("https://a.example/1", fingerprint=fp, signature=sig) is None
    time.sleep(0.7)  # a dies without committing: b takes over
    assert not b.has_url("https://a.example/1")
    assert b.claim("https://a.example/1", fingerprint=fp, signature=sig) is None
    b.commit()
    a.commit()
    assert a.lost_claims == 1 and b.lost_claims == 0
    time.sleep(0.7)  # done claims stay seen although their owner is gone
    assert a.find_url("https://a.example/1") == "https://a.example/1"
    assert a.find_near(near_signature(_variant(TEXT, 3))) == "https://a.example/1"
    assert b.stats()["articles"] == 1
    assert b.prune(timedelta(seconds=-5)) == 1
    assert not b.has_url("https://a.example/1") and b.stats()["articles"] == 0


def test_seeding_election_and_worker_lease(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = RedisKeys("autonews")
    assert (keys.queue("news"), keys.dupefilter("news")) == ("autonews:news:requests", "autonews:news:dupefilter")
    client.sadd("autonews:news:dupefilter", "old")
    assert elect_seeder(client, keys, "w1-1", "news", 30.0) == (True, 1)
    assert not client.exists("autonews:news:dupefilter")  # a new round re-discovers everything
    assert elect_seeder(client, keys, "w2-2", "news", 30.0) == (False, 1)  # w1 is alive: join its round
    assert elect_seeder(client, keys, "w2-2", "news", 30.0, force=True) == (True, 2)  # autonews seed
    lock = RedisRunLock(client, "autonews:lock:w1", "t1", ttl=30).acquire()
    with pytest.raises(LockedError):
        RedisRunLock(client, "autonews:lock:w1", "t2", ttl=30).acquire()
    lock.release()
    RedisRunLock(client, "autonews:lock:w1", "t2", ttl=30).acquire()


def test_part_file_names_carry_the_worker_instance() -> None:
    assert part_instance(Path("20261121T100000Z-host.a-b-1234-00002.part")) == "host.a-b-1234"
    assert part_instance(Path("garbage.part")) is None


# --- real workers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, Path]]:
    """The demo site plus a generated site of GENERATED articles, served together; yields (server, registry)."""
    root = tmp_path_factory.mktemp("site")
    generated = generate_site(root, GENERATED, seed=6)
    shutil.copytree(SITE_DIR, root, dirs_exist_ok=True)
    registry = root / "both.yaml"
    demo_registry = (SITE_DIR.parent / "sources.yaml").read_text(encoding="utf-8")
    extra = generated.read_text(encoding="utf-8").split("sources:\n", 1)[1]
    registry.write_text(demo_registry.rstrip() + "\n" + extra, encoding="utf-8")
    with DemoServer(root=root) as server:
        yield server, registry


def _worker(spawn: WorkerSpawner, redis_url: str, site: tuple[DemoServer, Path], output: Path, worker: str,
            *extra: str) -> subprocess.Popen[str]:
    server, registry = site
    return spawn(["crawl", "--redis", redis_url, "--sources", str(registry), "--output", str(output),
                  "-s", f"AUTONEWS_SUBSTITUTIONS={json.dumps({'{{BASE}}': server.base_url})}",
                  "-s", f"AUTONEWS_WORKER_ID={worker}", "--log-file", str(output / f"{worker}.log"), *FAST,
                  *ALLOW_LOOPBACK, *extra], cwd=output)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err


@pytest.fixture(scope="module")
def single_node_demo(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Canonical URLs a plain (SQLite, one process) crawl of the demo site writes."""
    out = tmp_path_factory.mktemp("single")
    with DemoServer() as server:
        result = run_cli("crawl", "--sources", str(SITE_DIR.parent / "sources.yaml"), "--output", str(out),
                         "-s", f"AUTONEWS_SUBSTITUTIONS={json.dumps({'{{BASE}}': server.base_url})}", *FAST,
                         *ALLOW_LOOPBACK, cwd=out)
    assert result.returncode == 0, result.stderr
    return {r["canonical_url"].split("/", 3)[3] for r in sealed_records(out)}


SYNDICATED = {e["path"].lstrip("/") for e in demo_manifest() if e["duplicate_of"] and "?" not in e["path"]} | {
    e["duplicate_of"].lstrip("/") for e in demo_manifest() if e["duplicate_of"] and "?" not in e["path"]}


def _check_union(output: Path, demo_paths: set[str]) -> list[dict]:
    """Assert the sealed records under ``output`` hold every expected article exactly once; return them."""
    records = sealed_records(output)
    urls = Counter(r["canonical_url"] for r in records)
    assert [u for u, n in urls.items() if n > 1] == []
    fingerprints = Counter(r["fingerprint"] for r in records)
    assert [f for f, n in fingerprints.items() if n > 1] == []
    paths = {u.split("/", 3)[3] for u in urls}
    expected_generated = {f"articles/story-{i:06d}/" for i in range(GENERATED)}
    assert {p for p in paths if p.startswith("articles/")} == expected_generated
    # Which copy of the syndicated story is kept depends on which worker meets it first.
    demo_written = {p for p in paths if not p.startswith("articles/")}
    assert demo_written - SYNDICATED == demo_paths - SYNDICATED
    assert len(demo_written & SYNDICATED) == 1
    assert not list(output.glob("articles*/*/*.part"))
    return records


def test_three_workers_write_every_article_exactly_once(
        redis_url: str, big_site: tuple[DemoServer, Path], single_node_demo: set[str], tmp_path: Path,
        spawn_worker: WorkerSpawner) -> None:
    # Seen on a busy 2-core machine: w3 wrote nothing. A worker that finds the queue empty asks again only on
    # Scrapy's 5 s idle tick, and w1 and w2 crawled the whole site in under 5 s (the demo registry sets a 0 s
    # delay for 127.0.0.1, which beats DOWNLOAD_DELAY), or w3 gave up at FAST's 1 s idle time while the
    # sitemap was being expanded. So: 20 pages/s per worker on the site's host, and 10 s of patience.
    paced = ("-s", 'DOWNLOAD_SLOTS={"127.0.0.1": {"delay": 0.05}}', "-s", "AUTONEWS_REDIS_IDLE_SECONDS=10")
    procs = [_worker(spawn_worker, redis_url, big_site, tmp_path, f"w{i}", *paced) for i in (1, 2, 3)]
    results = [_finish(p) for p in procs]
    for code, err in results:
        assert code == 0, err
    records = _check_union(tmp_path, single_node_demo)
    # Work was shared: every worker wrote articles into its own files.
    writers = Counter(part_instance(Path(p.name.replace(".jsonl", ".part"))).split("-")[0]
                      for p in tmp_path.glob("articles*/*/*.jsonl") for _ in p.read_text().splitlines())
    assert set(writers) == {"w1", "w2", "w3"}, writers
    assert sum(writers.values()) == len(records)
    report = round_report(redis.Redis.from_url(redis_url), RedisKeys("autonews"))
    assert report["stats"]["autonews/written"] == len(records)
    assert len(report["workers"]) == 3
    assert "round 1 (3 worker(s))" in results[-1][1]


def _lines_of(output: Path, worker: str) -> int:
    """Lines in ``worker``'s unsealed files (a file sealed between the listing and the read counts 0)."""
    total = 0
    for part in output.glob(f"articles*/*/*-{worker}-*.part"):
        try:
            total += part.read_bytes().count(b"\n")
        except FileNotFoundError:
            continue
    return total


def test_killed_worker_loses_nothing_and_nothing_doubles(
        redis_url: str, big_site: tuple[DemoServer, Path], single_node_demo: set[str], tmp_path: Path,
        spawn_worker: WorkerSpawner) -> None:
    shared, elsewhere = tmp_path / "shared", tmp_path / "elsewhere"
    shared.mkdir()
    elsewhere.mkdir()
    # Seal rarely, commit every 20: the killed worker leaves committed and uncommitted lines behind. w1 counts
    # as alive for 15 s after its last heartbeat (not FAST's 3): w2 and w3, started as it is killed, must not
    # recover its file when their start-up (2-3 s idle, more on a busy machine) outlasts the timeout.
    timeout = 15.0
    slow_seal = ("-s", "AUTONEWS_SEAL_EVERY_ITEMS=100000", "-s", "AUTONEWS_COMMIT_EVERY=20",
                 "-s", f"AUTONEWS_REDIS_WORKER_TIMEOUT={timeout:g}")
    # w1 starts first: started together, a fast w2 and w3 could drain the queue before w1 has written 50 lines
    procs = [_worker(spawn_worker, redis_url, big_site, shared, "w1", *slow_seal)]
    deadline = time.monotonic() + 120
    while _lines_of(shared, "w1") < 50 and procs[0].poll() is None:
        assert time.monotonic() < deadline, "worker w1 wrote nothing"
        time.sleep(0.02)
    assert procs[0].poll() is None, "w1 finished before it could be killed mid-run"
    procs += [_worker(spawn_worker, redis_url, big_site, shared, f"w{i}", *slow_seal) for i in (2, 3)]
    os.killpg(procs[0].pid, signal.SIGKILL)  # the worker and its pool processes, as a machine crash would
    killed_at = time.monotonic()
    procs[0].wait()
    for proc in procs[1:]:
        code, err = _finish(proc)
        assert code == 0, err
    left = _lines_of(shared, "w1")
    assert left >= 50  # the killed worker's unsealed file is still there
    substitutions = json.dumps({"{{BASE}}": big_site[0].base_url})
    seeded = run_cli("seed", "--redis", redis_url, "--sources", str(big_site[1]),
                     "-s", f"AUTONEWS_SUBSTITUTIONS={substitutions}", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "round 2" in seeded.stderr
    # A worker on another machine cannot see w1's file: it re-fetches what w1 had not committed (once w1's
    # heartbeat is older than the timeout).
    time.sleep(max(0.0, killed_at + timeout + 1 - time.monotonic()))
    code, err = _finish(_worker(spawn_worker, redis_url, big_site, elsewhere, "w4", "-s", f"AUTONEWS_REDIS_WORKER_TIMEOUT={timeout:g}"))
    assert code == 0, err
    taken_over = len(sealed_records(elsewhere))
    assert taken_over > 0
    # A worker on w1's machine then recovers w1's file: committed lines kept, taken-over ones dropped.
    code, err = _finish(_worker(spawn_worker, redis_url, big_site, shared, "w5"))
    assert code == 0, err
    log = (shared / "w5.log").read_text(encoding="utf-8")
    assert "of dead worker w1-" in log
    for directory in (shared, elsewhere):
        assert not list(directory.glob("articles*/*/*.part"))
    shutil.copytree(elsewhere / "articles", shared / "articles", dirs_exist_ok=True)
    _check_union(shared, single_node_demo)
    kept = sum(p.read_bytes().count(b"\n") for p in shared.glob("articles/*/*-w1-*.jsonl"))
    assert 20 <= kept < left  # at least the first commit survived; uncommitted lines went to w4


def test_same_worker_id_twice_exits_75(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    RedisRunLock(client, "autonews:lock:busy", "someone-else", ttl=60).acquire()
    with DemoServer() as server:
        result = run_cli("crawl", "--redis", redis_url, "--sources", str(SITE_DIR.parent / "sources.yaml"),
                         "--output", str(tmp_path), "-s", "AUTONEWS_WORKER_ID=busy",
                         "-s", f"AUTONEWS_SUBSTITUTIONS={json.dumps({'{{BASE}}': server.base_url})}", cwd=tmp_path)
    assert result.returncode == 75, result.stderr
    assert "busy" in result.stderr
    assert not client.exists("autonews:round")  # nothing was done


def test_unreachable_redis_exits_1(tmp_path: Path) -> None:
    result = run_cli("crawl", "--redis", "redis://127.0.0.1:1/0", "--sources", str(SITE_DIR.parent / "sources.yaml"),
                     "--output", str(tmp_path), "-s", 'AUTONEWS_SUBSTITUTIONS={"{{BASE}}": "http://127.0.0.1:9"}',
                     cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "cannot use Redis" in result.stderr


def test_state_command_works_on_the_redis_state(redis_url: str, tmp_path: Path) -> None:
    store = RedisStore(redis_url, prefix="statecmd", instance="w1")
    text = " ".join(f"word{i} about batteries" for i in range(40))
    # First seen two days ago: "--older-than 1d" then prunes it whatever second the command runs in.
    store.add("https://a.example/1", fingerprint=text_fingerprint(text), signature=near_signature(text),
              first_seen=datetime.now(timezone.utc) - timedelta(days=2))
    store.commit()
    store.close()
    stats = run_cli("state", "stats", "--state", redis_url, "--prefix", "statecmd", cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["articles"] == 1
    pruned = run_cli("state", "prune", "--state", redis_url, "--prefix", "statecmd", "--older-than", "1d", cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {"pruned": 1}
    again = run_cli("state", "stats", "--state", redis_url, "--prefix", "statecmd", cwd=tmp_path)
    assert json.loads(again.stdout)["articles"] == 0
