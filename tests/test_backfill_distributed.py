"""``autonews backfill --redis``: two workers split the WARC files on one Redis; one is killed mid-file,
the other takes its file over, a later run recovers the killed worker's output; the union is exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import WorkerSpawner, check_manifest_matches_files, sealed_records
from tests.servers.redis_server import RedisServer
from tests.test_backfill import FAST, check_exactly_once, serve_months
from tests.warc_fixtures import ArchiveServer, write_registry

# a worker timeout longer than w2 needs for the other files: w2 must wait for w1 to count as dead
WORKER = ("-s", "AUTONEWS_REDIS_IDLE_SECONDS=1", "-s", "AUTONEWS_REDIS_WORKER_TIMEOUT=8",
          "-s", "AUTONEWS_BACKFILL_CONCURRENT_FILES=1", "-s", "AUTONEWS_COMMIT_EVERY=1")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A fresh redis-server for the test."""
    with RedisServer() as server:
        yield server.url


def _worker(spawn: WorkerSpawner, redis_url: str, server: ArchiveServer, registry: Path, output: Path,
            worker: str) -> subprocess.Popen[str]:
    return spawn(["backfill", "--redis", redis_url, "--cc-news", "--from", "2024-01-01", "--to", "2024-03-20",
                  "--sources", str(registry), "--output", str(output), "-s", f"AUTONEWS_CC_NEWS_URL={server.base_url}",
                  "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1", "-s", f"AUTONEWS_WORKER_ID={worker}",
                  "--log-file", str(output / f"{worker}.log"), *FAST, *WORKER], cwd=output)


def _lines_of(output: Path, worker: str) -> int:
    total = 0
    for part in output.glob(f"articles*/*/*-{worker}-*.part"):
        try:
            total += part.read_bytes().count(b"\n")
        except FileNotFoundError:
            continue
    return total


def test_two_workers_split_the_files_one_killed_mid_file_union_exactly_once(redis_url: str, tmp_path: Path,
                                                                         spawn_worker: WorkerSpawner) -> None:
    files, built, _ = serve_months(tmp_path, others=150)
    registry = write_registry(tmp_path)
    output = tmp_path / "shared"
    output.mkdir()
    with ArchiveServer(files, delay=0.01) as server:
        w1 = _worker(spawn_worker, redis_url, server, registry, output, "w1")
        deadline = time.monotonic() + 120
        while _lines_of(output, "w1") < 2 and w1.poll() is None:
            assert time.monotonic() < deadline, "w1 wrote nothing"
            time.sleep(0.02)
        assert w1.poll() is None, "w1 finished before it could be killed mid-file"
        w2 = _worker(spawn_worker, redis_url, server, registry, output, "w2")
        time.sleep(0.5)
        os.killpg(w1.pid, signal.SIGKILL)  # the worker and its pool, as a machine crash would
        w1.wait()
        _, err = w2.communicate(timeout=240)
        assert w2.returncode == 0, err
        log = (output / "w2.log").read_text(encoding="utf-8")
        client = redis.Redis.from_url(redis_url)
        progress = {k.decode(): v for k, v in client.hgetall("autonews:warc:files").items()}
        assert set(progress) == set(built) and all(b'"status":"done"' in v for v in progress.values()), progress
        assert not client.hlen("autonews:warc:claims")
        # the killed worker's file was read by w2 from where w1 had got to (a Range request), not from 0
        ranges = [r for path in built for r in server.file_gets(path) if r]
        assert ranges, server.requests
        # a later worker on this machine recovers w1's unsealed file and reads nothing again
        before = len(server.requests)
        w3 = _worker(spawn_worker, redis_url, server, registry, output, "w3")
        _, err = w3.communicate(timeout=240)
        assert w3.returncode == 0, err
        assert not [r for r in server.requests[before:] if r[1].endswith(".warc.gz")]
    assert not list(output.glob("articles*/*/*.part"))
    records = sealed_records(output)
    check_exactly_once(records, built)
    check_manifest_matches_files(output)
    assert "Traceback" not in log
    # w1's unsealed file was recovered (by w2 if w1 was dead when it started, else by w3)
    assert any("of dead worker w1-" in (output / f"{w}.log").read_text(encoding="utf-8") for w in ("w2", "w3"))
