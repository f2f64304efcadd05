"""Cron-grade operation: lock, conditional GET, --since, run report, graceful stop."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from crawler.demo.server import DemoServer
from tests.conftest import DEMO, autonews_cmd, crawl_args, free_demo_port, run_cli, run_reports, sealed_records


def test_second_overlapping_crawl_exits_75_at_once(generated_site: tuple[Path, DemoServer], tmp_path: Path) -> None:
    registry, server = generated_site
    first = subprocess.Popen([*autonews_cmd(), *crawl_args(registry, server.base_url, tmp_path / "out")],
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "out" / "state.sqlite3.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        second = run_cli(*crawl_args(registry, server.base_url, tmp_path / "out"), cwd=tmp_path, timeout=30)
        elapsed = time.monotonic() - started
    finally:
        first.wait(timeout=180)
    assert second.returncode == 75, second.stderr
    assert "another autonews crawl" in second.stderr
    assert elapsed < 10  # generous: the check itself is instant; this only guards against a second crawl
    assert first.returncode == 0


def test_unchanged_feeds_cost_a_304(tmp_path: Path) -> None:
    port = free_demo_port()
    run_cli("crawl", "--demo", *port, cwd=tmp_path)
    second = run_cli("crawl", "--demo", *port, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    stats = run_reports(tmp_path / "output")[-1]["stats"]
    # Every feed, sitemap and section page was revalidated, none downloaded in full again.
    assert stats["httpcache/revalidate"] == stats["autonews/discovery/requested"]
    assert stats.get("autonews/written", 0) == 0


def test_since_skips_old_feed_and_sitemap_entries(tmp_path: Path) -> None:
    # Feeds and sitemaps only: section-page links carry no date, so --since cannot judge them.
    lines = (DEMO / "sources.yaml").read_text(encoding="utf-8").splitlines()
    registry = tmp_path / "dated.yaml"
    registry.write_text("\n".join(x for x in lines if "start_urls" not in x) + "\n", encoding="utf-8")
    with DemoServer() as server:
        full = run_cli(*crawl_args(registry, server.base_url, tmp_path / "full"), cwd=tmp_path)
        recent = run_cli(*crawl_args(registry, server.base_url, tmp_path / "recent", "--since", "30d"), cwd=tmp_path)
    assert full.returncode == recent.returncode == 0
    stats = run_reports(tmp_path / "recent")[-1]["stats"]
    assert stats["autonews/skipped/too_old"] > 0
    written = {r["canonical_url"] for r in sealed_records(tmp_path / "recent")}
    # Every dated demo entry is years old: only the undated EVXL sitemap entry is left.
    assert written and all("/evxl/" in url for url in written)
    assert len(sealed_records(tmp_path / "full")) > len(written)


def test_bad_since_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("crawl", "--demo", "--since", "last tuesday", *free_demo_port(), cwd=tmp_path)
    assert result.returncode == 2 and "--since" in result.stderr


def test_run_report_per_source_and_broken(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    links = "".join(f'<li><a href="/story/{i}/">Story {i}</a></li>' for i in range(4))
    (site / "news" / "index.html").write_text(f"<html><body><ul>{links}</ul></body></html>")
    for i in range(4):  # a layout change: the "articles" now carry no text
        (site / "story" / str(i)).mkdir(parents=True)
        (site / "story" / str(i) / "index.html").write_text("<html><body><div id='app'></div></body></html>")
    registry = tmp_path / "sources.yaml"
    registry.write_text("sources:\n  - name: broken\n    start_urls: ['{{BASE}}/news/']\n"
                        "    allow: ['/story/']\n    language: en\n")
    with DemoServer(root=site) as server:
        result = run_cli(*crawl_args(registry, server.base_url, tmp_path / "out"), cwd=tmp_path)
        quiet = run_cli(*crawl_args(registry, server.base_url, tmp_path / "off", "-s", "AUTONEWS_HEALTH_EXIT_STATUS=0"),
                        cwd=tmp_path)
    # an orchestrator that should not alert on health turns the status off; the ERROR line stays
    assert quiet.returncode == 0 and "Source broken is broken" in quiet.stderr, quiet.stderr
    assert result.returncode == 4, result.stderr  # the crawl finished, a source is broken
    # ERROR lines reach cron mail; no history is needed to call "no article at all" broken
    assert "Source broken is broken: no article from 4 new article pages" in result.stderr
    [report] = run_reports(tmp_path / "out")
    assert report["degraded_sources"] == ["broken"]
    assert report["sources"]["broken"]["health"]["status"] == "broken"
    assert report["health"]["broken"] == ["broken"] and report["health"]["status"] == "broken"
    assert report["sources"]["broken"]["pages"] == 4
    assert report["sources"]["broken"]["not_article"] == 4
    assert report["finish_reason"] == "finished" and report["exit_status"] == 4
    assert report["start"] <= report["end"]


def test_sigterm_seals_files_and_writes_the_report(generated_site: tuple[Path, DemoServer], tmp_path: Path) -> None:
    registry, server = generated_site
    out = tmp_path / "out"
    proc = subprocess.Popen([*autonews_cmd(), *crawl_args(registry, server.base_url, out, "-s",
                                                          "CONCURRENT_REQUESTS_PER_DOMAIN=2")],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.stat().st_size for p in out.glob("articles/*/*.part")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr  # 128 + SIGTERM, what systemd and timeout expect
    assert list(out.rglob("*.part")) == []
    first = sealed_records(out)
    assert first, "in-flight articles were lost"
    [report] = run_reports(out)
    assert report["finish_reason"] == "shutdown"
    # The next run completes the crawl without writing anything twice.
    again = run_cli(*crawl_args(registry, server.base_url, out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    urls = [r["url"] for r in sealed_records(out)]
    assert len(urls) == len(set(urls)) == 200
