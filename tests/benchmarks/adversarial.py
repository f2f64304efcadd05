"""Pathological pages through ``autonews scrape`` (the real CLI): wall time, CPU and peak RSS of the whole
process tree per page, beside the same for ``trafilatura.extract`` alone, with the ratio.

    python -m tests.benchmarks.adversarial                 # every page at 1 MB (a few minutes)
    python -m tests.benchmarks.adversarial --sizes 1,8     # and at 8 MB
    python -m tests.benchmarks.adversarial --check         # exit 1 when a page breaks the limits

Limits (``--check``): every page done in ``--max-seconds`` (10) and ``--max-mb`` (500) of peak RSS over
the CLI's process tree (the crawl process and its pool worker, sampled with psutil). The pages are built by
``tests.benchmarks.adversarial_pages``; each run is one page, one pool worker, under ``nice``. The CLI's
figures include its start (Scrapy, the worker's imports: about 3 s here), trafilatura's include Python's.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.adversarial_pages import PAGES
from tests.benchmarks.rss import RssSampler

AUTONEWS = Path(sys.executable).with_name("autonews")
MB = 1 << 20
TRAFILATURA_ALONE = ("import sys, trafilatura\n"
                     "html = open(sys.argv[1], encoding='utf-8').read()\n"
                     "text = trafilatura.extract(html, include_comments=False) or ''\n"
                     "print(len(text))\n")


@dataclass
class Run:
    """One process tree's figures for one page."""

    wall: float
    cpu: float
    peak_mb: float
    outcome: str


def measure(command: list[str], timeout: float) -> tuple[Run, subprocess.CompletedProcess[str] | None]:
    """Run ``command`` under ``nice``, sampling its tree's RSS and CPU; killed after ``timeout`` seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(["nice", "-n", "10", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with RssSampler(proc.pid) as sampler:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in reversed([*__import__("psutil").Process(proc.pid).children(recursive=True)]):
                child.kill()
            proc.kill()
            proc.communicate()
            return Run(time.perf_counter() - started, sampler.cpu_seconds(), sampler.peak / MB, "KILLED"), None
    done = subprocess.CompletedProcess(command, proc.returncode, out, err)
    return Run(time.perf_counter() - started, sampler.cpu_seconds(), sampler.peak / MB, ""), done


def scrape_outcome(done: subprocess.CompletedProcess[str], out: Path) -> str:
    """What ``autonews scrape`` made of the page: article (text length), not article, or its error labels."""
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    if lines:
        return f"article {len(json.loads(lines[0])['text']):,} chars"
    tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    return tail[0].removeprefix("autonews: ")[:60]


def main(argv: list[str] | None = None) -> int:
    """Generate the pages, run them, print the table; with ``--check``, 1 when a page broke a limit."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1", help="page sizes in MB, comma-separated (default 1)")
    parser.add_argument("--pages", default=",".join(PAGES), help="page kinds (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a page exceeds the limits")
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--max-mb", type=float, default=500.0)
    parser.add_argument("--time", choices=("wall", "cpu"), default="wall",
                        help="which time --max-seconds bounds (cpu: the tree's CPU seconds, for a busy machine)")
    parser.add_argument("--no-trafilatura", action="store_true", help="skip the trafilatura-alone runs")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    kinds = [k for k in args.pages.split(",") if k]
    failures: list[str] = []
    print(f"{'page':<16}{'MB':>5} | {'autonews s':>10}{'cpu s':>7}{'peak MB':>8} | {'trafil. s':>9}{'cpu s':>7}"
          f"{'peak MB':>8} | {'ratio':>6} | outcome")
    with tempfile.TemporaryDirectory(prefix="autonews-adversarial-") as tmp:
        for size in sizes:
            for kind in kinds:
                page = Path(tmp) / f"{kind}-{size:g}mb.html"
                page.write_text(PAGES[kind](int(size * MB)), encoding="utf-8")
                out = Path(tmp) / "out.jsonl"
                out.unlink(missing_ok=True)
                limit = max(120.0, 10 * args.max_seconds)
                ours, done = measure([str(AUTONEWS), "scrape", str(page), "-o", str(out),
                                      "-s", "AUTONEWS_POOL_PROCESSES=1"], limit)
                outcome = ours.outcome or scrape_outcome(done, out)  # type: ignore[arg-type]
                if args.no_trafilatura:
                    theirs = Run(float("nan"), float("nan"), float("nan"), "")
                else:
                    theirs, _ = measure([sys.executable, "-c", TRAFILATURA_ALONE, str(page)], limit)
                ratio = ours.wall / theirs.wall if theirs.wall == theirs.wall and theirs.wall else float("nan")
                print(f"{kind:<16}{page.stat().st_size / MB:>5.1f} | {ours.wall:>10.1f}{ours.cpu:>7.1f}"
                      f"{ours.peak_mb:>8.0f} | {theirs.wall:>9.1f}{theirs.cpu:>7.1f}{theirs.peak_mb:>8.0f}"
                      f"{'*' if theirs.outcome else ' '}| {ratio:>6.2f} | {outcome}", flush=True)
                if (ours.cpu if args.time == "cpu" else ours.wall) > args.max_seconds or ours.peak_mb > args.max_mb or ours.outcome:
                    failures.append(f"{kind} {size:g} MB: {ours.wall:.1f} s, {ours.peak_mb:.0f} MB")
                page.unlink()
    print("(* trafilatura alone was killed at the time limit)")
    if failures:
        print(f"over the limits ({args.max_seconds:g} s, {args.max_mb:g} MB): " + "; ".join(failures))
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
