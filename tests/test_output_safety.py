"""The output directory is untrusted (README "Security"), through the real CLI:

- no file autonews creates there is written through a symbolic link planted at its name
  (the writability probes, the run report's temporary file, ``report.html``'s, a ``.part``,
  the manifest) and a ``.part`` that is a link is set aside, not recovered through;
- a garbled manifest line or an invalid run report is skipped and counted, never obeyed nor fatal;
- temporary files of killed writers are removed by the next crawl or report;
- ``autonews report --days N`` reads only the run reports of its period.

Links are planted in the child process just before it runs (``preexec_fn``): its pid is the one
the crawl names its files with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import check_manifest_matches_files, free_demo_port, run_cli, sealed_records

PRECIOUS = "precious, no newline"
WORKER = "w"
#: Extraction inline: a small crawl does not need a process pool's start-up.
INLINE = ("-s", "AUTONEWS_POOL_PROCESSES=0", "-s", f"AUTONEWS_WORKER_ID={WORKER}")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside the output directory that nothing may write."""
    path = tmp_path / "victim.txt"
    path.write_text(PRECIOUS, encoding="utf-8")
    return path


def run_ids(pid: int, seconds: int = 120) -> list[str]:
    """The run ids a crawl started in the next ``seconds`` by process ``pid`` may have."""
    now = datetime.now(timezone.utc)
    return [f"{(now + timedelta(seconds=s)):%Y%m%dT%H%M%SZ}-{WORKER}-{pid}" for s in range(-2, seconds)]


def crawl(work: Path, *extra: str, plant: Callable[[int], None] | None = None) -> subprocess.CompletedProcess[str]:
    """``autonews crawl --demo`` into ``work/output``; ``plant(pid)`` runs in the child first."""
    hook = None if plant is None else (lambda: plant(os.getpid()))
    return run_cli("crawl", "--demo", "--output", str(work / "output"), *free_demo_port(), *INLINE, *extra,
                   cwd=work, preexec_fn=hook)


def dead_pid() -> int:
    """The pid of a process that has just ended."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)


def test_crawl_and_report_never_write_through_planted_links(tmp_path: Path, victim: Path) -> None:
    output = tmp_path / "output"
    (output / "runs").mkdir(parents=True)

    def plant(pid: int) -> None:
        for name in (f".autonews-probe-{pid}", f".write-test-{pid}"):
            (output / name).symlink_to(victim)
        for run in run_ids(pid):
            (output / "runs" / f"{run}.tmp").symlink_to(victim)

    result = crawl(tmp_path, plant=plant)
    assert result.returncode == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == PRECIOUS
    assert sealed_records(output) and len(list((output / "runs").glob("*.json"))) == 1
    check_manifest_matches_files(output)

    (output / "report.html.tmp").symlink_to(victim)
    (output / "report.html").symlink_to(victim)  # replaced by the new report, the link itself
    report = run_cli("report", "--output", str(output), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert victim.read_text(encoding="utf-8") == PRECIOUS
    assert not (output / "report.html").is_symlink() and "<html" in (output / "report.html").read_text()


def test_a_link_planted_as_the_next_part_file_stops_the_crawl_with_a_clear_message(tmp_path: Path,
                                                                                 victim: Path) -> None:
    output = tmp_path / "output"
    day = output / "articles" / datetime.now(timezone.utc).date().isoformat()
    day.mkdir(parents=True)

    def plant(pid: int) -> None:
        for run in run_ids(pid):
            (day / f"{run}-00001.part").symlink_to(victim)

    result = crawl(tmp_path, plant=plant)
    assert result.returncode == 3 and "output not writable" in result.stderr and "File exists" in result.stderr
    assert victim.read_text(encoding="utf-8") == PRECIOUS


def test_a_link_left_as_a_part_file_is_set_aside_not_recovered_through(tmp_path: Path, victim: Path) -> None:
    output = tmp_path / "output"
    day = output / "articles" / "2026-01-01"
    day.mkdir(parents=True)
    part = day / f"20260101T000000Z-x-{dead_pid()}-00001.part"
    part.symlink_to(victim)  # "recovering" it would cut the victim's torn last line (all of it)
    result = crawl(tmp_path)
    assert result.returncode == 0, result.stderr
    assert victim.read_text(encoding="utf-8") == PRECIOUS
    assert part.is_symlink()  # left where it is, for the operator
    report = json.loads(next((output / "runs").glob("*.json")).read_text())
    assert report["stats"]["autonews/errors/bad_part"] == 1
    assert f"Left {part} alone, not recovered: a symbolic link" in result.stderr


def test_a_manifest_that_is_a_link_is_refused_not_followed(tmp_path: Path, victim: Path) -> None:
    output = tmp_path / "output"
    output.mkdir()
    (output / "manifest.jsonl").symlink_to(victim)
    result = crawl(tmp_path)
    assert result.returncode == 3 and "manifest.jsonl" in result.stderr and "symbolic link" in result.stderr
    assert victim.read_text(encoding="utf-8") == PRECIOUS


def test_a_state_file_that_is_a_link_is_refused_not_made_a_database(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.mkdir()
    empty = tmp_path / "empty-victim"
    empty.write_bytes(b"")  # SQLite would make an empty file its database
    (output / "state.sqlite3").symlink_to(empty)
    result = crawl(tmp_path)
    assert result.returncode == 3 and "state.sqlite3: a symbolic link, not followed" in result.stderr, result.stderr
    assert empty.read_bytes() == b""


def test_a_dead_workers_recovery_never_writes_through_a_link(tmp_path: Path, victim: Path) -> None:
    from scrapy.utils.test import get_crawler

    from pipelines.state.redis_store import RedisStore
    from pipelines.storage.recovery import recover_dead_workers
    from tests.servers.redis_server import RedisServer

    day = tmp_path / "articles" / "2026-11-20"
    day.mkdir(parents=True)
    line = json.dumps({"url": "https://a.example/x/", "canonical_url": "https://a.example/x/", "text": "t " * 200,
                       "duplicate_of": "https://a.example/y/"})
    part = day / "20261120T100000Z-dead-1-00001.part"
    part.write_text(line + "\n")
    (day / "20261120T100000Z-dead-1-00001.recovering").symlink_to(victim)  # the old fixed temporary name
    linked = day / "20261120T100000Z-gone-2-00001.part"
    linked.symlink_to(victim)  # a link planted as a dead worker's .part: never read nor cut through
    stale = day / f".20261120T100000Z-dead-1-00001.jsonl.{dead_pid()}.0123abcd.tmp"  # a killed recovery's
    stale.write_text("x")
    crawler = get_crawler()
    with RedisServer() as server:
        heir = RedisStore(server.url, instance="heir-1", timeout=60)
        try:
            recover_dead_workers(tmp_path, heir, crawler.stats)
        finally:
            heir.close()
    assert victim.read_text(encoding="utf-8") == PRECIOUS
    assert (day / "20261120T100000Z-dead-1-00001.jsonl").read_text() == line + "\n"
    assert linked.is_symlink() and crawler.stats.get_value("autonews/errors/bad_part") == 1
    assert not stale.exists()


def test_a_garbled_manifest_line_is_skipped_and_counted_and_crawls_go_on(tmp_path: Path) -> None:
    output = tmp_path / "output"
    assert crawl(tmp_path).returncode == 0
    manifest = output / "manifest.jsonl"
    lines = manifest.read_bytes().splitlines(keepends=True)
    assert lines
    # a line every consumer may have passed, then one with a field of the wrong type
    manifest.write_bytes(b"\x00garbled{\n" + b"".join(lines) + b'{"seq": "7", "file": 3}\n')
    (output / "state.sqlite3").unlink()  # the second crawl writes every article again: new files to list
    again = crawl(tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads(sorted((output / "runs").glob("*.json"))[-1].read_text())
    assert report["stats"]["autonews/errors/manifest_line"] == 2
    after = manifest.read_bytes().splitlines()
    assert after[: len(lines) + 2] == [b"\x00garbled{", *(line.rstrip(b"\n") for line in lines), b'{"seq": "7", "file": 3}']
    new = [json.loads(line) for line in after[len(lines) + 2:]]
    assert new and [e["seq"] for e in new] == list(range(len(lines) + 1, len(lines) + 1 + len(new)))
    from pipelines.storage.manifest import read_manifest, scan_manifest

    assert len(scan_manifest(output).skipped) == 2
    assert {e.file for e in read_manifest(output)} == {p.relative_to(output).as_posix()
                                                       for p in output.glob("articles*/*/*.jsonl")}


def bad_reports(runs: Path, stamp: str) -> list[str]:
    """Write run reports that fail validation in different ways; return their names."""
    entry = {"pages": 3, "written": "many", "fields": {}, "health": {"status": "ok", "reasons": []}}
    bad = {f"{stamp}-typed.json": json.dumps({"run_id": "x", "start": stamp, "finish_reason": "finished",
                                              "sources": {"autowire": entry}}),
           f"{stamp}-list.json": "[1, 2]",
           f"{stamp}-torn.json": '{"sources": ',
           f"{stamp}-deep.json": "[" * 100_000,
           f"{stamp}-round.json": json.dumps({"start": stamp, "finish_reason": "finished", "sources": {},
                                              "stats": {"autonews/distributed/round": 1e308}})}
    for name, text in bad.items():
        (runs / name).write_text(text, encoding="utf-8")
    return sorted(bad)


def test_invalid_run_reports_are_skipped_by_health_and_report(tmp_path: Path) -> None:
    output = tmp_path / "output"
    runs = output / "runs"
    runs.mkdir(parents=True)
    names = bad_reports(runs, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    result = crawl(tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(next(p for p in runs.glob("*.json") if p.name not in names).read_text())
    assert report["stats"]["autonews/errors/run_report"] == len(names)
    assert {e["health"]["status"] for e in report["sources"].values()} <= {"new", "ok"}
    html = run_cli("report", "--output", str(output), cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    assert f"skipped {len(names)} unusable run report(s)" in html.stderr
    assert all(name in html.stderr for name in names)  # each named in a warning
    assert "autowire" in (output / "report.html").read_text(encoding="utf-8")


def test_killed_writers_temporary_files_are_removed_by_the_next_crawl_and_report(tmp_path: Path) -> None:
    output = tmp_path / "output"
    runs = output / "runs"
    runs.mkdir(parents=True)
    dead, live = dead_pid(), os.getpid()
    stale = [output / f".report.html.{dead}.0123abcd.tmp", runs / f".20260101T000000Z-w-1.json.{dead}.89abcdef.tmp"]
    kept = [output / f".report.html.{live}.0123abcd.tmp", output / "notes.tmp"]
    for path in stale + kept:
        path.write_text("x")
    assert crawl(tmp_path).returncode == 0
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)

    other = tmp_path / "elsewhere"
    other.mkdir()
    leftover = other / f".r.html.{dead}.0123abcd.tmp"
    leftover.write_text("x")
    assert run_cli("report", "--output", str(output), "-o", str(other / "r.html"), cwd=tmp_path).returncode == 0
    assert not leftover.exists() and (other / "r.html").exists()


def report_file(runs: Path, start: datetime, **extra: Any) -> Path:
    """A valid run report of one source, started at ``start``."""
    run = f"{start:%Y%m%dT%H%M%SZ}-h-1"
    entry = {"pages": 2, "written": 2, "fields": {"title": 2}, "health": {"status": "ok", "reasons": []}}
    path = runs / f"{run}.json"
    path.write_text(json.dumps({"run_id": run, "start": start.isoformat(timespec="seconds"),
                                "finish_reason": "finished", "sources": {"site": entry}, **extra}))
    return path


def test_report_reads_only_the_run_reports_of_its_period(tmp_path: Path) -> None:
    output = tmp_path / "output"
    runs = output / "runs"
    runs.mkdir(parents=True)
    now = datetime.now(timezone.utc)
    recent = [report_file(runs, now - timedelta(hours=h)) for h in (1, 30, 100)]
    # older than the period: torn on purpose, so a report that opened them would warn about each
    old = []
    for days in (9, 20, 200):
        path = report_file(runs, now - timedelta(days=days))
        path.write_text("{torn")
        old.append(path)
    nameless = runs / "copied.json"  # no time in its name: its modification time decides
    nameless.write_text("{torn")
    stamp = (now - timedelta(days=30)).timestamp()
    os.utime(nameless, (stamp, stamp))
    result = run_cli("report", "--output", str(output), "--days", "7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(p.name in result.stderr for p in [*old, nameless]), result.stderr
    assert "skipped" not in result.stderr
    assert "3 run(s)" in (output / "report.html").read_text(encoding="utf-8")
    assert len(recent) == 3
