"""Exactly-once under ``kill -9``: kill a crawl at several points, rerun, count every article and manifest line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from crawler.demo.server import DemoServer
from pipelines.storage.manifest import read_manifest
from tests.conftest import autonews_cmd, check_manifest_matches_files, crawl_args, run_cli, sealed_records

#: Seal and commit often, and fetch slowly, so kills land between every kind of step.
CHURN = ("-s", "AUTONEWS_SEAL_EVERY_ITEMS=15", "-s", "AUTONEWS_COMMIT_EVERY=4",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")


def lines_written(output: Path) -> int:
    """Article lines in sealed and unsealed files, complete or not (a .part sealed between the listing and
    the read counts 0 this time: its .jsonl is seen on the next look)."""
    total = 0
    for path in output.glob("articles/*/*.*"):
        if path.suffix in (".part", ".jsonl"):
            try:
                total += path.read_bytes().count(b"\n")
            except FileNotFoundError:
                continue
    return total


def kill_after(args: list[str], output: Path, lines: int) -> None:
    """Start a crawl and SIGKILL it once ``lines`` article lines exist."""
    proc = subprocess.Popen([*autonews_cmd(), *args], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and lines_written(output) < lines:
        time.sleep(0.02)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill_9_at_several_points_then_rerun_is_exactly_once(generated_site: tuple[Path, DemoServer],
                                                              tmp_path: Path) -> None:
    registry, server = generated_site
    out = tmp_path / "out"
    args = crawl_args(registry, server.base_url, out, *CHURN)
    for threshold in (7, 40, 95, 150):
        kill_after(args, out, threshold)
        for sealed in out.glob("articles/*/*.jsonl"):  # readers never see a torn line
            for line in sealed.read_bytes().splitlines(keepends=True):
                assert line.endswith(b"\n")
                json.loads(line)
        listed = [entry.file for entry in read_manifest(out)]  # a manifest line never names a missing file
        assert len(listed) == len(set(listed)) and all((out / name).is_file() for name in listed)
    final = run_cli(*args, cwd=tmp_path)
    assert final.returncode == 0, final.stderr
    assert list(out.rglob("*.part")) == []
    urls = [r["canonical_url"] for r in sealed_records(out)]
    assert len(urls) == len(set(urls)), "an article was written twice"
    assert len(urls) == 200, "an article was lost"
    check_manifest_matches_files(out)  # every sealed file listed exactly once, matching its file
    assert sum(entry.records for entry in read_manifest(out)) == 200
