"""Time and peak memory of ``autonews report --days N`` over a long run history.

Writes ``--runs`` run reports (one an hour, going back from now; each with ``--sources`` sources and
the per-source crawl stats a real report carries) into a scratch output directory, then runs
``autonews report --days N`` in a fresh process ``--repeat`` times and prints wall time and peak
RSS. ``--autonews`` picks the program (another checkout's, to compare before and after).

Run from the repository root:
``python -m tests.benchmarks.report_history [--runs 5000] [--days 7] [--autonews PATH]``
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ERRORS = ("http_404", "http_500", "timeout", "dns", "blocked_address")
FIELDS = ("published", "authors", "title", "description", "image")
#: Wraps one run: wall time, CPU time (user + system: steadier than wall time on a busy machine) and the
#: child's peak RSS (ru_maxrss of the only waited-for child).
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(done.returncode, round(wall, 3), round(usage.ru_utime + usage.ru_stime, 3), usage.ru_maxrss // 1024)
sys.stderr.write(done.stderr[-500:] if done.returncode else "")
"""


def source_entry(rng: random.Random) -> dict[str, Any]:
    """One source's entry as ``crawler.extensions.report`` writes it."""
    written = rng.randint(0, 60)
    return {"pages": written + rng.randint(0, 5), "new_entries": written + 3, "skipped": rng.randint(0, 500),
            "written": written, "duplicates": rng.randint(0, 4), "non_english": 0, "non_english_dropped": 0,
            "not_article": rng.randint(0, 3), "errors": {e: rng.randint(0, 2) for e in ERRORS},
            "discovery": {"ok": 3, "failed": 0, "entries": 300, "skipped_cap": 0, "skipped_off_domain": 1,
                          "skipped_not_http": 0},
            "fields": {f: rng.randint(0, written) for f in FIELDS}, "text_length_median": rng.randint(800, 6000),
            "languages": {"en": written}, "signals": {"new_entries": written + 3, "article_yield": 0.9},
            "health": {"status": "ok", "reasons": []}, "degraded": False}


def run_report(start: datetime, worker: int, sources: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A run report started at ``start`` and its run id."""
    run = f"{start:%Y%m%dT%H%M%SZ}-host-{worker}"
    entries = {f"source-{n:03d}": source_entry(rng) for n in range(sources)}
    stats: dict[str, Any] = {"finish_reason": "finished", "downloader/response_count": 500}
    for name in entries:
        for key in ("pages", "new", "skipped", "written", "entries", "discovery/ok", "skipped_cap",
                    "errors", *(f"errors/{e}" for e in ERRORS)):
            stats[f"autonews/source/{name}/{key}"] = rng.randint(0, 100)
    stats.update({f"downloader/response_status_count/{code}": rng.randint(0, 100) for code in range(200, 520, 7)})
    return run, {"run_id": run, "start": start.isoformat(timespec="seconds"),
                 "end": (start + timedelta(minutes=3)).isoformat(timespec="seconds"), "finish_reason": "finished",
                 "exit_status": 0, "failure_reasons": [], "health": {"status": "ok"}, "degraded_sources": [],
                 "sources": entries, "stats": stats}


def write_history(output: Path, runs: int, sources: int) -> int:
    """Write ``runs`` hourly run reports under ``output/runs``; return their total size in bytes."""
    directory = output / "runs"
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    total = 0
    for n in range(runs):
        run, report = run_report(now - timedelta(hours=n), n, sources, rng)
        text = json.dumps(report, indent=2)
        (directory / f"{run}.json").write_text(text, encoding="utf-8")
        total += len(text)
    return total


def main() -> None:
    """Write the history, run the report, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--autonews", default=str(Path(sys.executable).parent / "autonews"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-history-") as scratch:
        output = Path(scratch) / "output"
        size = write_history(output, args.runs, args.sources)
        print(f"{args.runs} run reports ({size / 1e6:.0f} MB, {args.sources} sources each), one an hour; "
              f"report --days {args.days} with {args.autonews}")
        for attempt in range(1, args.repeat + 1):
            line = subprocess.run([sys.executable, "-c", MEASURE, args.autonews, "report", "--output", str(output),
                                   "--days", str(args.days), "-o", str(Path(scratch) / "r.html")],
                                  capture_output=True, text=True, check=True)
            code, wall, cpu, rss = line.stdout.split()
            print(f"  run {attempt}: exit {code}, {float(wall):.2f} s wall, {float(cpu):.2f} s CPU, peak RSS {rss} MB "
                  f"{line.stderr.strip()}")


if __name__ == "__main__":
    main()
