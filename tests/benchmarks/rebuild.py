"""Rebuild time and peak memory of ``autonews state rebuild`` for N records, into SQLite and into Redis.

Generates N synthetic article records (the demo generator's texts, ~400 words each; every 100th
record a later version of an earlier article) as sealed files of 500 records with their manifest,
then runs the real command line on them, once per backend, and reports wall time, records per
second and the rebuild process' peak RSS (``VmHWM``), plus the size of the result and how long the
check a crawl makes before it starts (``pipelines.state.readable``) takes on it::

    python -m tests.benchmarks.rebuild              # 100,000 records
    python -m tests.benchmarks.rebuild --n 10000
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from crawler.demo.generate import article
from pipelines.dedupe.neardup import text_fingerprint
from pipelines.record import SCHEMA_VERSION
from pipelines.state.readable import check_state
from pipelines.storage.manifest import Manifest
from tests.servers.redis_server import RedisServer

PER_FILE = 500
VERSION_EVERY = 100
_TAG = re.compile(r"<[^>]{0,200}>")


def _record(url: str, text: str, version: int, previous: str | None, fetched_at: str) -> dict[str, Any]:
    return {"url": url, "canonical_url": url, "source": "bench", "title": text[:60], "authors": [],
            "published": None, "published_from": None, "modified": None, "description": None, "site_name": None,
            "image": None, "tags": [], "text": text, "language": "en", "languages": {"en": 1.0}, "flags": [],
            "fingerprint": text_fingerprint(text), "version": version, "previous_fingerprint": previous,
            "fetched_at": fetched_at, "schema_version": SCHEMA_VERSION}


def generate(root: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` records as sealed files under ``root`` and list them in its manifest; return the file count."""
    rng = random.Random(seed)
    day = root / "articles" / "2026-12-01"
    day.mkdir(parents=True)
    manifest = Manifest(root, SCHEMA_VERSION)
    texts: list[tuple[str, str]] = []
    lines: list[str] = []
    files = 0
    for index in range(n):
        if index % VERSION_EVERY == VERSION_EVERY - 1 and texts:
            url, old = texts[rng.randrange(len(texts))]
            text = old + f" Update {index}: the company confirmed the figures on Tuesday."
            record = _record(url, text, 2, text_fingerprint(old), "2026-12-01T11:00:00+00:00")
        else:
            item = article(rng, index)
            text = html.unescape(_TAG.sub("", item["paragraphs"].replace("</p>\n<p>", "\n\n")))
            url = f"https://news{index % 50}.example/{item['slug']}/"
            texts.append((url, text))
            record = _record(url, text, 1, None, "2026-12-01T10:00:00+00:00")
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if len(lines) == PER_FILE or index == n - 1:
            files += 1
            path = day / f"20261201T100000Z-bench-1-{files:05d}.jsonl"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            manifest.append([path])
            lines = []
    return files


def peak_rss_kb(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Poll ``VmHWM`` (the process' own high-water mark, reset at exec) until ``stop``; keep the last in ``peak``.

    Not ``wait4``'s ``ru_maxrss``: Linux carries the forking parent's peak across exec into it, and the
    parent here holds every generated text.
    """
    status = Path(f"/proc/{pid}/status")
    while not stop.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        except (OSError, ValueError):
            return
        stop.wait(0.1)


def run_rebuild(output: Path, *state: str) -> dict[str, Any]:
    """Run ``autonews state rebuild`` on ``output``; return its wall time, peak RSS and summary line."""
    script = Path(sys.executable).parent / "autonews"
    started = time.monotonic()
    proc = subprocess.Popen([str(script), "state", "rebuild", "--force", "--output", str(output), *state],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0]
    poller = threading.Thread(target=peak_rss_kb, args=(proc.pid, stop, peak), daemon=True)
    poller.start()
    _out, stderr = proc.communicate()
    seconds = time.monotonic() - started
    stop.set()
    poller.join()
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild failed ({proc.returncode}): {stderr}")
    return {"seconds": seconds, "peak_rss_mb": peak[0] / 1024, "summary": stderr.strip().splitlines()[-1]}


def measure_sqlite(output: Path) -> tuple[str, dict[str, Any], str, float]:
    """Rebuild into ``output``'s SQLite file; time the crawl's start check on the result."""
    result = run_rebuild(output)
    state = output / "state.sqlite3"
    started = time.monotonic()
    check_state(str(state))
    return "SQLite", result, f"{state.stat().st_size / 2**20:.0f} MB file", time.monotonic() - started


def measure_redis(output: Path) -> tuple[str, dict[str, Any], str, float]:
    """Rebuild into a throw-away redis-server; time the crawl's start check on the result."""
    with RedisServer() as server:
        result = run_rebuild(output, "--state", server.url)
        used = server.client().info("memory")["used_memory"]
        started = time.monotonic()
        check_state(server.url)
        return "Redis", result, f"{used / 2**20:.0f} MB used_memory", time.monotonic() - started


def main() -> None:
    """Generate, rebuild into SQLite and Redis, print the figures (a Markdown table for the README)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="records to generate (default 100,000)")
    parser.add_argument("--only", choices=["sqlite", "redis"], help="measure one backend only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autonews-rebuild-bench-"))
    try:
        output = work / "output"
        started = time.monotonic()
        files = generate(output, args.n)
        print(f"generated {args.n:,} records in {files} sealed files ({time.monotonic() - started:.0f} s)", flush=True)
        rows = [measure(output) for name, measure in (("sqlite", measure_sqlite), ("redis", measure_redis))
                if args.only in (None, name)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| state | records | rebuild time | records/s | peak RSS (rebuild) | size | crawl's start check |")
    print("|---|---|---|---|---|---|---|")
    for name, result, size, check in rows:
        print(f"| {name} | {args.n:,} | {result['seconds']:.0f} s | {args.n / result['seconds']:,.0f} | "
              f"{result['peak_rss_mb']:.0f} MB | {size} | {check:.2f} s |")
    for name, result, _size, _check in rows:
        print(f"{name}: {result['summary']}")


if __name__ == "__main__":
    main()
