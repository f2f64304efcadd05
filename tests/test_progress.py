"""Progress on long runs: lines on stderr with ``--progress`` or a terminal, none under cron."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

from crawler.demo.server import DemoServer
from crawler.extensions.progress import crawl_line, scrape_line
from tests.conftest import DEMO, autonews_cmd, crawl_args, run_cli

PROGRESS = "autonews: progress: "


def test_crawl_line_and_scrape_eta() -> None:
    stats = {"autonews/pages/article": 120, "autonews/written": 80, "autonews/errors/total": 3}
    assert crawl_line(stats, 35, 48.4) == ("autonews: progress: article pages fetched: 120, articles written: 80, queued: 35, "
                                           "rate: 48 pages/min, errors: 3")
    line = scrape_line({"autonews/targets/done": 40, "autonews/written": 38}, 100, 20.0)
    assert line == "autonews: progress: 40/100 done, 2.0 pages/s, ETA 0:00:30, articles: 38, errors: 0"
    assert "100/100 done" in scrape_line({"autonews/targets/done": 100}, 100, 5.0)
    assert "ETA 0:00:00" in scrape_line({"autonews/targets/done": 100}, 100, 5.0)
    assert "ETA ?" in scrape_line({}, 100, 5.0)  # nothing done yet: no rate to go by


def test_crawl_progress_on_request_and_never_under_cron(demo_server: DemoServer, tmp_path: Path) -> None:
    registry = DEMO / "sources.yaml"
    asked = run_cli(*crawl_args(registry, demo_server.base_url, tmp_path / "a", "--progress"), cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    lines = asked.stderr.strip().splitlines()
    progress = [line for line in lines if line.startswith(PROGRESS)]
    assert progress, asked.stderr  # at least the final line, printed when the crawl closes
    # the final line agrees with the summary, and nothing is left in the queue
    assert progress[-1].startswith(lines[-2].replace("autonews: ", PROGRESS).split(", not articles")[0])
    assert ", queued: 0, " in progress[-1]
    assert lines[-2].startswith("autonews: article pages fetched: ") and lines[-1] == "autonews: status: ok"
    # stderr is a pipe here, as under cron: the two summary lines only
    cron = run_cli(*crawl_args(registry, demo_server.base_url, tmp_path / "b"), cwd=tmp_path)
    assert cron.returncode == 0 and len(cron.stderr.strip().splitlines()) == 2, cron.stderr


def test_a_terminal_gets_progress_without_asking(demo_server: DemoServer, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    args = crawl_args(DEMO / "sources.yaml", demo_server.base_url, tmp_path / "out")
    proc = subprocess.run([*autonews_cmd(), *args], cwd=tmp_path,
                          env=env, stdout=subprocess.DEVNULL, stderr=secondary, timeout=240)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the terminal's other end is closed and everything has been read
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert proc.returncode == 0
    assert PROGRESS.encode() in seen, seen


def test_scrape_shows_done_over_total(tmp_path: Path) -> None:
    pages = sorted(str(p) for p in (DEMO / "site" / "evpulse").rglob("index.html"))[:4]
    result = run_cli("scrape", "--progress", "-o", str(tmp_path / "out.jsonl"), *pages, cwd=tmp_path)
    progress = [line for line in result.stderr.splitlines() if line.startswith(PROGRESS)]
    assert progress and progress[-1].startswith(f"{PROGRESS}4/4 done"), result.stderr
