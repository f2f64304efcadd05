"""``autonews backfill``: CC-NEWS over HTTP (503 SlowDown, a cut connection), exactly once across reruns
and kill -9, the record filter, dry runs and the address guard. WARC files are built with warcio
(tests/warc_fixtures.py) and served on 127.0.0.1 in the CC-NEWS layout."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.spiders.closing import CLOSING_MESSAGE
from tests.conftest import autonews_cmd, check_manifest_matches_files, run_cli, sealed_records
from tests.warc_fixtures import ArchiveServer, BuiltWarc, build_warc, cc_news_name, write_registry

FAST = ("-s", "AUTONEWS_BACKFILL_JITTER=0", "-s", "AUTONEWS_BACKFILL_BACKOFF=0.05",
        "-s", "AUTONEWS_POOL_PROCESSES=0", "-s", "AUTONEWS_BACKFILL_COMMIT_SECONDS=0.5")


def serve_months(tmp_path: Path, others: int = 40) -> tuple[dict[str, bytes], dict[str, BuiltWarc], list[str]]:
    """Three in-range files (January, February, March 2024) and two out of range (March 25, April)."""
    built = {cc_news_name(month, month): build_warc(month, first=month * 10, others=others) for month in (1, 2, 3)}
    outside = [cc_news_name(3, 15), cc_news_name(4, 1)]
    files = {path: b.data for path, b in built.items()}
    for n, path in enumerate(outside):
        files[path] = build_warc(5 + n, first=100 + n * 10, others=5).data
    return files, built, outside


def backfill_args(server: ArchiveServer, registry: Path, output: Path, *extra: str) -> list[str]:
    """``backfill --cc-news`` of 2024-01-01..2024-03-20 from ``server``."""
    return ["backfill", "--cc-news", "--from", "2024-01-01", "--to", "2024-03-20", "--sources", str(registry),
            "--output", str(output), "-s", f"AUTONEWS_CC_NEWS_URL={server.base_url}",
            "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1", *FAST, *extra]


def check_exactly_once(records: list[dict[str, Any]], built: dict[str, BuiltWarc]) -> None:
    """Every expected article once, with its source, fetched_at and warc; nothing else."""
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), sorted(u for u in urls if urls.count(u) > 1)
    expected = {url: (path, info) for path, b in built.items() for url, info in b.expected.items()}
    assert set(urls) == set(expected)
    seconds = {url: (path, info) for path, b in built.items() for url, info in b.second_capture.items()}
    for record in records:
        path, info = expected[record["url"]]
        assert record["source"] == info["source"]
        assert record["warc"]["file"] == path
        got = (record["fetched_at"], record["warc"]["record_id"], record["warc"]["offset"])
        wanted = [(info["fetched_at"], info["record_id"], info["offset"])]
        if record["url"] in seconds:  # a duplicate capture: either one, never both
            other = seconds[record["url"]][1]
            wanted.append((other["fetched_at"], other["record_id"], other["offset"]))
        assert got in wanted, (record["url"], got, wanted)
        assert record["text"] and record["schema_version"] == 4


def test_cc_news_slowdown_and_cut_connection_then_rerun_fetches_nothing(tmp_path: Path) -> None:
    files, built, outside = serve_months(tmp_path)
    paths = list(built)
    registry = write_registry(tmp_path)
    output = tmp_path / "out"
    cut_at = len(files[paths[1]]) // 2
    with ArchiveServer(files, slowdown=True, cut={paths[1]: cut_at}) as server:
        done = run_cli(*backfill_args(server, registry, output), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        records = sealed_records(output)
        check_exactly_once(records, built)
        assert not {r["url"] for r in records} & {u for b in built.values() for u in b.other_urls}
        for path in outside:  # listed for the month, never fetched
            assert not server.file_gets(path) and not [r for r in server.requests if r[1] == "/" + path]
        for path in paths:  # the 503 SlowDown first, then the file
            gets = server.file_gets(path)
            assert gets[:2] == [None, None], gets
        # the cut connection was picked up where it broke, not read again from the start
        ranges = [r for r in server.file_gets(paths[1]) if r]
        assert ranges and int(ranges[0][len("bytes="):].rstrip("-")) >= cut_at // 2, server.file_gets(paths[1])
        report = json.loads(next((output / "runs").glob("*.json")).read_text())
        per_file = {f["file"]: f for f in report["backfill"]["files"]}
        assert set(per_file) == set(paths)
        for path in paths:
            entry = per_file[path]
            assert entry["status"] == "done"
            assert entry["articles"] == len(built[path].expected)
            assert entry["kept"] >= entry["articles"] and entry["scanned"] > entry["kept"]
            assert entry["duplicates"] >= 1 and entry["corrupt"] >= 1 and entry["bytes"] == len(files[path])
        check_manifest_matches_files(output)
        manifest = (output / "manifest.jsonl").read_bytes()

        before = len(server.requests)
        again = run_cli(*backfill_args(server, registry, output), cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        later = server.requests[before:]
        assert not [r for r in later if r[1].endswith(".warc.gz")], later  # only the month lists
        assert (output / "manifest.jsonl").read_bytes() == manifest
        assert "articles written: 0" in again.stderr


def _part_lines(output: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in output.glob("articles*/*/*.part"))


def test_kill_9_mid_file_three_times_then_clean_run_writes_each_article_once(tmp_path: Path) -> None:
    files, built, _ = serve_months(tmp_path, others=150)
    registry = write_registry(tmp_path)
    output = tmp_path / "out"
    rng = random.Random(7)
    # every file stops 3 s halfway: a kill at a random moment of that pause always lands mid-file, with
    # records of the first half in the pipelines, on a fast machine as on a loaded one
    with ArchiveServer(files, delay=0.002, hold=3.0) as server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        # a real extraction process: records are in the pipelines while the reader goes on, so a commit
        # must not save progress past them (FileScan.safe_offset)
        args = backfill_args(server, registry, output, "-s", "AUTONEWS_BACKFILL_CONCURRENT_FILES=1",
                             "-s", "AUTONEWS_COMMIT_EVERY=1", "-s", "AUTONEWS_POOL_PROCESSES=1")
        killed = 0
        for _ in range(3):
            proc = subprocess.Popen([*autonews_cmd(), *args], cwd=tmp_path, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert server.holding.wait(timeout=120), "no file reached its halfway pause"
            # a random moment of the pause, once this run has written something of its own (a .part left
            # by the killed run before is sealed or cut back when this one starts, hence "changed")
            lines = _part_lines(output)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and _part_lines(output) == lines:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.6))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=30)
            while server.holding.is_set():  # the killed run's pause ends before the next run starts
                time.sleep(0.05)
        server.hold = 0.0
        assert killed == 3, "a run finished before it could be killed"
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        records = sealed_records(output)
        check_exactly_once(records, built)
        check_manifest_matches_files(output)
        assert not list(output.glob("articles*/*/*.part"))
        # an interrupted file resumed at a record boundary (a Range request: the server cuts no connection here)
        assert [r for p in built for r in server.file_gets(p) if r], server.requests


def test_dry_run_lists_files_and_sizes_and_writes_nothing(tmp_path: Path) -> None:
    files, built, outside = serve_months(tmp_path, others=3)
    registry = write_registry(tmp_path)
    output = tmp_path / "out"
    with ArchiveServer(files) as server:
        done = run_cli(*backfill_args(server, registry, output, "--dry-run"), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[:-1] == [f"{path}\t{len(files[path])}" for path in built]  # oldest first
        assert lines[-1] == f"3 file(s), {sum(len(files[p]) for p in built)} bytes"
        assert not output.exists()
        assert {m for m, _, _ in server.requests if m != "HEAD"} == {"GET"}
        assert not [r for r in server.requests if r[0] == "GET" and r[1].endswith(".warc.gz")]


def test_warc_url_on_a_loopback_address_is_refused_without_private_hosts(tmp_path: Path) -> None:
    files, built, _ = serve_months(tmp_path, others=3)
    registry = write_registry(tmp_path)
    output = tmp_path / "out"
    path = next(iter(built))
    with ArchiveServer(files) as server:
        done = run_cli("backfill", "--warc", server.base_url + path, "--sources", str(registry),
                       "--output", str(output), *FAST, cwd=tmp_path)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr
        assert not server.requests
        assert not sealed_records(output)
        report = json.loads(next((output / "runs").glob("*.json")).read_text())
        assert report["stats"]["autonews/errors/warc_blocked_address"] == 1


def test_local_warc_filter_and_second_run(tmp_path: Path) -> None:
    built = build_warc(1, first=0, others=20)
    warc = tmp_path / "a.warc.gz"
    warc.write_bytes(built.data)
    registry = write_registry(tmp_path)
    output = tmp_path / "out"
    done = run_cli("backfill", "--warc", str(tmp_path), "--sources", str(registry), "--output", str(output),
                   "--progress", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_exactly_once(sealed_records(output), {str(warc.resolve()): built})
    progress = [line for line in done.stderr.splitlines() if line.startswith("autonews: progress: ")]
    assert progress and progress[-1].startswith("autonews: progress: files 1/1, records scanned: ")
    assert f"articles written: {len(built.expected)}" in progress[-1]
    listing = tmp_path / "warcs.txt"
    listing.write_text(f"# the archive\n{warc}\n", encoding="utf-8")
    again = run_cli("backfill", "--warc-list", str(listing), "--sources", str(registry), "--output", str(output),
                    *FAST, cwd=tmp_path)
    assert again.returncode == 0 and "WARC files done: 1" in again.stderr and "records scanned: 0" in again.stderr
    assert len(sealed_records(output)) == len(built.expected)


@pytest.mark.parametrize("args, message", [
    (("--cc-news",), "--cc-news needs --from"),
    (("--warc", "x.warc.gz", "--from", "2024-01-01"), "--from/--to only apply to --cc-news"),
    (("--cc-news", "--from", "2024-02-01", "--to", "2024-01-01"), "--to is before --from"),
    (("--warc", "missing.warc.gz"), "neither a URL nor an existing file"),
    (("--cc-news", "--from", "2024-01-01", "-s", "AUTONEWS_CC_NEWS_URL="), "AUTONEWS_CC_NEWS_URL must be an http(s) URL"),
])
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = run_cli("backfill", *args, "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_backfill_closes_when_its_last_article_is_through(tmp_path: Path) -> None:
    """Not at Scrapy's idle check, which ticks 5 s after the spider opened (a run that waits for it takes 5 s
    or more); extracted in a pool worker, so articles are still in the pipelines when the reading ends."""
    built = build_warc(1, first=0, others=5)
    warc = tmp_path / "a.warc.gz"
    warc.write_bytes(built.data)
    output, log = tmp_path / "out", tmp_path / "backfill.log"
    done = run_cli("backfill", "--warc", str(warc), "--sources", str(write_registry(tmp_path)), "--output",
                   str(output), "--log-file", str(log), *FAST, "-s", "AUTONEWS_POOL_PROCESSES=1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(sealed_records(output)) == len(built.expected)
    text = log.read_text(encoding="utf-8")
    assert CLOSING_MESSAGE in text, "the spider waited for Scrapy's idle check"  # no wall-time bound: see test_first_hour
    assert "'finish_reason': 'finished'" in text
    # nothing is downloaded through Scrapy: no downloader middleware or HTTP handler is loaded at the start
    assert "Enabled downloader middlewares:\n[]" in text, text[:3000]
