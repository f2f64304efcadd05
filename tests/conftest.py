"""Shared test helpers: the demo server, the CLI in a subprocess, record checks."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.server import DemoServer
from pipelines.items import Article, PageItem
from pipelines.record import validation_errors

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "crawler" / "demo"


def autonews_cmd() -> list[str]:
    """The installed ``autonews`` console script next to this interpreter."""
    script = Path(sys.executable).parent / "autonews"
    assert script.exists(), f"console script missing: {script} (run pip install -e .)"
    return [str(script)]


def run_cli(*args: str, cwd: Path, timeout: float = 240, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``autonews ARGS`` in ``cwd`` and return the finished process (text mode)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run([*autonews_cmd(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def sealed_records(output: Path) -> list[dict[str, Any]]:
    """Every record in the sealed ``*.jsonl`` files under ``output`` (schema-checked)."""
    records = []
    for path in sorted(output.glob("articles*/*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert not validation_errors(record), (path, validation_errors(record))
            records.append(record)
    return records


def check_manifest_matches_files(output: Path) -> None:
    """Every sealed file under ``output`` is listed once in ``manifest.jsonl``, in ``seq`` order, and every
    line's size, sha256 and record count match its file."""
    from pipelines.storage.manifest import read_manifest

    entries = read_manifest(output)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    for entry in entries:
        data = (output / entry.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry
        assert (len(data), data.count(b"\n")) == (entry.bytes, entry.records), entry
    listed = [e.file for e in entries]
    assert sorted(listed) == sorted(p.relative_to(output).as_posix() for p in output.glob("articles*/*/*.jsonl"))


def demo_manifest() -> list[dict[str, Any]]:
    """The demo site's expected.json entries."""
    return json.loads((DEMO / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """The bundled demo site served on 127.0.0.1 for one test."""
    with DemoServer() as server:
        yield server


FAST = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
def free_demo_port() -> tuple[str, str]:
    """``-s AUTONEWS_DEMO_PORT=N`` with a port free right now: two demo crawls given the same one see the
    same URLs (as the fixed default gives a user), and test runs side by side do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return ("-s", f"AUTONEWS_DEMO_PORT={sock.getsockname()[1]}")


#: Test servers listen on loopback, which a crawl refuses unless allowed (README "Security").
ALLOW_LOOPBACK = ("-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1")


def crawl_args(registry: Path, base_url: str, output: Path, *extra: str) -> list[str]:
    """``autonews crawl`` arguments for a registry that uses ``{{BASE}}``, served at ``base_url``."""
    subst = json.dumps({"{{BASE}}": base_url})
    return ["crawl", "--sources", str(registry), "--output", str(output),
            "-s", f"AUTONEWS_SUBSTITUTIONS={subst}", *FAST, *ALLOW_LOOPBACK, *extra]


def run_reports(output: Path) -> list[dict[str, Any]]:
    """The run reports under ``output/runs``, oldest first."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((output / "runs").glob("*.json"))]


@pytest.fixture(scope="session")
def generated_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DemoServer]]:
    """A 200-article synthetic site, served for the whole session: (registry, server)."""
    from crawler.demo.generate import generate_site

    root = tmp_path_factory.mktemp("generated")
    registry = generate_site(root, 200)
    with DemoServer(root=root) as server:
        yield registry, server


def make_article(url: str, text: str, **fields: Any) -> Article:
    """An article as extraction leaves it (other fields empty unless given)."""
    values: dict[str, Any] = {"url": url, "request_url": url, "source": "test", "fetched_at": "2026-11-20T10:00:00+00:00",
                              "title": None, "authors": [], "published": None, "modified": None, "description": None,
                              "site_name": None, "image": None, "tags": [], "text": text}
    values.update(fields)
    return Article(**values)


def make_page(body: bytes, url: str = "https://example.com/a", **fields: Any) -> PageItem:
    """A fetched page as a spider yields it."""
    values: dict[str, Any] = {"url": url, "request_url": url, "source": "test", "body": body,
                              "fetched_at": "2026-11-20T10:00:00+00:00"}
    values.update(fields)
    return PageItem(**values)


@pytest.fixture(scope="session")
def seven_runs(tmp_path_factory: pytest.TempPathFactory) -> list[subprocess.CompletedProcess[str]]:
    """Seven real crawls of a site that changes between runs (tests/servers/evolving_site.py):
    ``fading`` loses dates and authors in run 7, ``stale`` stops publishing after run 4.

    Returns the seven finished ``autonews crawl`` processes; the output is ``seven_runs_output``.
    """
    from tests.servers.evolving_site import write_run

    root = tmp_path_factory.getbasetemp() / "evolving"
    site, output = root / "site", root / "output"
    results = []
    site.mkdir(parents=True, exist_ok=True)
    with DemoServer(root=site) as server:
        for run in range(1, 8):
            registry = write_run(site, run)
            # Extraction inline: seven small crawls do not need a process pool's start-up each.
            results.append(run_cli(*crawl_args(registry, server.base_url, output, "-s", "AUTONEWS_POOL_PROCESSES=0"),
                                   cwd=root))
    return results


@pytest.fixture(scope="session")
def seven_runs_output(seven_runs: list[subprocess.CompletedProcess[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output directory of :func:`seven_runs`."""
    return tmp_path_factory.getbasetemp() / "evolving" / "output"


WorkerSpawner = Any
"""``spawn_worker(args, cwd)``: an ``autonews`` subprocess in its own process group (see the fixture)."""


@pytest.fixture
def spawn_worker() -> Iterator[WorkerSpawner]:
    """Start ``autonews <args>`` workers for a test, each in its own process group (a kill of the group takes
    its extraction pool down with it, as a machine crash would), stdout and stderr piped; any still running
    when the test ends (a failed test) is killed with its group."""
    import signal

    spawned: list[subprocess.Popen[str]] = []

    def spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        proc = subprocess.Popen([*autonews_cmd(), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        spawned.append(proc)
        return proc

    yield spawn
    for proc in spawned:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
