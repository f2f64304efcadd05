"""Every CLI option that no other test drives, run through the console script with its effect checked.

Issue 25 found options that could be ignored by the code without any test noticing: ``crawl --source``,
``crawl --state``, ``scrape --input FILE`` and ``--input -``, ``seed --source``, ``state --output`` and
``state stats|prune`` on a SQLite state, ``-v`` and ``--log-file`` on ``scrape`` and ``seed``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import DEMO, FAST, autonews_cmd, free_demo_port, run_cli, sealed_records
from tests.servers.redis_server import RedisServer

PAGES = DEMO / "site" / "evpulse" / "2015" / "12"
ARTICLE = PAGES / "aston-martin-signs-deal-with-letv" / "index.html"
SECTION = DEMO / "site" / "evpulse" / "news" / "index.html"


def demo_crawl(tmp_path: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``autonews crawl --demo`` into ``output`` (fast settings, a free port)."""
    return run_cli("crawl", "--demo", "--output", str(output), *FAST, *free_demo_port(), *extra, cwd=tmp_path)


def sources_of(output: Path) -> set[str]:
    """The ``source`` of every sealed record under ``output``."""
    return {r["source"] for r in sealed_records(output)}


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full demo crawl (all three sources), shared by the state tests."""
    root = tmp_path_factory.mktemp("demo")
    result = demo_crawl(root, root / "out")
    assert result.returncode == 0, result.stderr
    assert sources_of(root / "out") == {"evpulse", "evxl", "autowire"}
    return root / "out"


def test_crawl_source_crawls_only_the_named_source(tmp_path: Path) -> None:
    result = demo_crawl(tmp_path, tmp_path / "out", "--source", "evxl")
    assert result.returncode == 0, result.stderr
    assert sources_of(tmp_path / "out") == {"evxl"}
    unknown = demo_crawl(tmp_path, tmp_path / "out2", "--source", "nosuchsource")
    assert unknown.returncode == 2 and "nosuchsource" in unknown.stderr


def test_crawl_state_puts_the_state_where_told_and_uses_it(tmp_path: Path) -> None:
    state = tmp_path / "elsewhere" / "my-state.sqlite3"
    first = demo_crawl(tmp_path, tmp_path / "out", "--source", "evxl", "--state", str(state))
    assert first.returncode == 0, first.stderr
    assert state.is_file() and not (tmp_path / "out" / "state.sqlite3").exists()
    written = len(sealed_records(tmp_path / "out"))
    assert written > 0
    # The same state: nothing new. A fresh state in the same output: written again.
    again = demo_crawl(tmp_path, tmp_path / "out", "--source", "evxl", "--state", str(state))
    assert again.returncode == 0, again.stderr
    assert len(sealed_records(tmp_path / "out")) == written
    fresh = demo_crawl(tmp_path, tmp_path / "out", "--source", "evxl", "--state", str(tmp_path / "fresh.sqlite3"))
    assert fresh.returncode == 0, fresh.stderr
    assert len(sealed_records(tmp_path / "out")) == 2 * written


def test_state_stats_and_prune_on_a_sqlite_state_through_output(demo_output: Path, tmp_path: Path) -> None:
    records = sealed_records(demo_output)
    stats = run_cli("state", "stats", "--output", str(demo_output), cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    # one fingerprint per written article; dropped copies are remembered as articles too
    assert counts["fingerprints"] == len(records) > 0 and counts["articles"] >= len(records)
    # --output names the state: another directory has none.
    empty = run_cli("state", "stats", "--output", str(tmp_path / "nothing-here"), cwd=tmp_path)
    assert empty.returncode != 0 and "no state" in empty.stderr
    kept = run_cli("state", "prune", "--output", str(demo_output), "--older-than", "3650d", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout) == {"pruned": 0}
    pruned = run_cli("state", "prune", "--state", str(demo_output / "state.sqlite3"), "--older-than", "0s", cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["pruned"] >= counts["articles"]
    after = json.loads(run_cli("state", "stats", "--output", str(demo_output), cwd=tmp_path).stdout)
    assert after["articles"] == 0


def scrape_records(result: subprocess.CompletedProcess[str]) -> list[dict]:
    """The records a scrape printed on stdout."""
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_scrape_input_file_and_stdin(tmp_path: Path) -> None:
    listing = tmp_path / "pages.txt"
    listing.write_text(f"# pages to scrape\n\n{ARTICLE}\n", encoding="utf-8")
    from_file = run_cli("scrape", "--input", str(listing), cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    [record] = scrape_records(from_file)
    assert "LeTV" in record["text"]
    # '-' reads the list from standard input; positional targets and --input add up.
    from_stdin = subprocess.run([*autonews_cmd(), "scrape", str(SECTION), "--input", "-"], input=f"{ARTICLE}\n",
                                cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert from_stdin.returncode == 1  # the section page is not an article
    [record] = scrape_records(from_stdin)
    assert "LeTV" in record["text"]
    assert "1 of 2" in from_stdin.stderr


def test_scrape_verbose_and_log_file(tmp_path: Path) -> None:
    quiet = run_cli("scrape", str(ARTICLE), cwd=tmp_path)
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr
    verbose = run_cli("scrape", str(ARTICLE), "-v", cwd=tmp_path)
    assert verbose.returncode == 0 and "INFO" in verbose.stderr and "DEBUG" not in verbose.stderr
    log = tmp_path / "logs" / "scrape.log"
    logged = run_cli("scrape", str(ARTICLE), "--log-file", str(log), cwd=tmp_path)
    assert logged.returncode == 0, logged.stderr
    assert "INFO" not in logged.stderr
    assert "Spider opened" in log.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server on 127.0.0.1 for the seed tests."""
    with RedisServer() as server:
        yield server.url


def test_seed_source_seeds_only_the_named_source(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    base = ["seed", "--redis", redis_url, "--sources", str(DEMO / "sources.yaml"),
            "-s", 'AUTONEWS_SUBSTITUTIONS={"{{BASE}}": "http://127.0.0.1:9"}', "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1"]
    client.flushall()
    one = run_cli(*base, "--source", "evxl", "-v", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "INFO" in one.stderr and "Spider opened" in one.stderr
    assert b"/evxl/" in queued(client) and b"/evpulse/" not in queued(client) and b"/autowire/" not in queued(client)
    client.flushall()
    log = tmp_path / "logs" / "seed.log"
    every = run_cli(*base, "--log-file", str(log), cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    assert "INFO" not in every.stderr and "Spider opened" in log.read_text(encoding="utf-8")
    assert b"/evxl/" in queued(client) and b"/evpulse/" in queued(client) and b"/autowire/" in queued(client)


def queued(client: "redis.Redis") -> bytes:
    """Every value of every list or sorted set on the server, joined: what the seed put in the queues."""
    values: list[bytes] = []
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == b"list":
            values += client.lrange(key, 0, -1)
        elif kind == b"zset":
            values += client.zrange(key, 0, -1)
    return b"".join(values)
