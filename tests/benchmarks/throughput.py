"""Crawl throughput: ``autonews crawl`` of a local site against a one-process trafilatura loop.

    python -m tests.benchmarks.throughput [--pages N] [--plain-pages K] [--with-peers] [-s KEY=VALUE]...

Builds a site of N distinct pages from the article-extraction benchmark's HTML in a temp dir
(see tests.benchmarks/throughput_site.py), serves it from a separate process on 127.0.0.1, and in
one run measures:

- the full crawl (fetch + extract + language + dedupe + store) as ``autonews crawl`` in a
  subprocess: wall time from start to exit, pages/s, peak RSS of its process tree (main process
  plus pool workers, sampled every 50 ms) and the CPU seconds it used;
- a plain loop of ``trafilatura.extract(html, include_comments=False)`` over the same HTML strings
  in this process (only the loop is timed; the first K pages, default min(N, 2000));
- with ``--with-peers``: trafilatura's own CLI over the same URL list and news-please on the same
  pages, each in its own virtualenv under ~/.cache/autonews-bench (created on first use).

Prints a table; the ratio is crawl pages/s divided by plain-loop pages/s.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from tests.benchmarks.quality import DEFAULT_BENCH
from tests.benchmarks.rss import RssSampler
from tests.benchmarks.throughput_site import build_site, url_list
from tests.benchmarks.throughput_table import MB, Row, table

CRAWL_SETTINGS = ("AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                  "ROBOTSTXT_OBEY=False", "LOG_LEVEL=INFO", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1")
_SUMMARY = re.compile(r"pages fetched: (\d+), articles written: (\d+)")


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    """Serve ``root`` from a separate process; returns it and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.throughput_server", str(root)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://"):
        proc.kill()
        raise RuntimeError("benchmark server did not start")
    return proc, base_url


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Close the server's stdin (its stop signal) and wait for it."""
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def autonews_exe() -> str:
    """The ``autonews`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "autonews"
    return str(script) if script.exists() else "autonews"


def run_crawl(registry: Path, base_url: str, work: Path, overrides: list[str]) -> Row:
    """Run ``autonews crawl`` over the site in a subprocess, timing it and sampling its memory."""
    output = work / "output"
    subst = json.dumps({"{{BASE}}": base_url})
    cmd = [autonews_exe(), "crawl", "--sources", str(registry), "--output", str(output),
           "--log-file", str(work / "crawl.log"), "-s", f"AUTONEWS_SUBSTITUTIONS={subst}"]
    for setting in (*CRAWL_SETTINGS, *overrides):
        cmd += ["-s", setting]
    machine = psutil.cpu_times()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
    with RssSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    busy = _busy_seconds(psutil.cpu_times()) - _busy_seconds(machine)
    match = _SUMMARY.search(err)
    row = Row("autonews crawl (fetch+extract+language+dedupe+store)", seconds=seconds, peak_rss=sampler.peak,
              cpu=sampler.cpu_seconds())
    if proc.returncode != 0 or match is None:
        row.note = f"FAILED (exit {proc.returncode}): {err.strip()[-300:]}"
        return row
    row.pages = int(match.group(1))
    written = int(match.group(2))
    summary = next((line for line in err.splitlines() if _SUMMARY.search(line)), "")
    row.note = summary.removeprefix("autonews: ").replace("pages fetched", "fetched (sitemap included)")
    main_cpu = sampler.cpu.get(proc.pid, 0.0)
    row.extra = {"machine_busy": busy, "peak_pss": sampler.peak_pss, "written": written, "main_cpu": main_cpu,
                 "other_cpu": sampler.cpu_seconds() - main_cpu, "rss_first_half": sampler.peak_between(0, 0.5),
                 "rss_second_half": sampler.peak_between(0.5, 1.0)}
    return row


def run_plain(htmls: list[str]) -> Row:
    """Time ``trafilatura.extract(html, include_comments=False)`` over ``htmls`` in this process."""
    import trafilatura

    logging.disable(logging.WARNING)  # trafilatura logs every discarded page
    trafilatura.extract(htmls[0], include_comments=False)  # imports and caches warmed, as in a crawl's workers
    started = time.perf_counter()
    cpu = time.process_time()
    for html in htmls:
        trafilatura.extract(html, include_comments=False)
    seconds = time.perf_counter() - started
    return Row("trafilatura.extract loop, 1 process, HTML in memory", pages=len(htmls), seconds=seconds,
               cpu=time.process_time() - cpu)


def main(argv: list[str] | None = None) -> int:
    """Build and serve the site, run the crawl, the plain loop and (optionally) the peers; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages on the site (default 1000)")
    parser.add_argument("--plain-pages", type=int, default=None,
                        help="pages the plain trafilatura loop times (default min(pages, 2000))")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--with-peers", action="store_true",
                        help="also run trafilatura's CLI and news-please (own virtualenvs, created on demand)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (site, output, crawl log)")
    parser.add_argument("-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra setting for the crawl (repeatable), e.g. -s AUTONEWS_POOL_PROCESSES=2")
    args = parser.parse_args(argv)
    if not (args.bench / "ground-truth.json").is_file():
        print(f"no benchmark at {args.bench}")
        return 2

    work = Path(tempfile.mkdtemp(prefix="autonews-throughput-"))
    registry, htmls = build_site(args.bench, work / "site", args.pages)
    server, base_url = start_server(work / "site")
    server_cpu_before = _cpu_of(server.pid)
    try:
        crawl = run_crawl(registry, base_url, work, args.overrides)
        server_cpu = _cpu_of(server.pid) - server_cpu_before
        plain = run_plain(htmls[: args.plain_pages or min(args.pages, 2000)])
        rows = [crawl, plain]
        if args.with_peers:
            from tests.benchmarks.throughput_peers import run_peers

            (work / "urls.txt").write_text(url_list(base_url, args.pages), encoding="utf-8")
            rows += run_peers(work, work / "urls.txt", work / "site", args.pages)
    finally:
        stop_server(server)

    workers = next((o.split("=", 1)[1] for o in args.overrides if o.startswith("AUTONEWS_POOL_PROCESSES=")), "default")
    print(f"throughput: {args.pages} pages from {args.bench.name} (every copy varied, canonical tags removed), "
          f"{os.cpu_count()} cores, AUTONEWS_POOL_PROCESSES={workers}, site served by a separate process "
          f"(used {server_cpu:.1f} CPU s during the crawl)")
    print(table(rows, plain))
    if crawl.rate and plain.rate:
        print(f"ratio crawl / plain loop: {crawl.rate / plain.rate:.2f}   peak RSS of the crawl: "
              f"{(crawl.peak_rss or 0) / MB:.0f} MB (first half of the run {crawl.extra['rss_first_half'] / MB:.0f} MB, "
              f"second half {crawl.extra['rss_second_half'] / MB:.0f} MB); peak PSS (shared pages counted once) "
              f"{crawl.extra['peak_pss'] / MB:.0f} MB")
        print(f"crawl CPU: main process {crawl.extra['main_cpu']:.1f} s, pool workers and helpers "
              f"{crawl.extra['other_cpu']:.1f} s; the whole machine was busy {crawl.extra['machine_busy']:.1f} CPU s "
              f"of {crawl.seconds * (os.cpu_count() or 1):.1f} during the crawl (other processes included)")
    if args.keep:
        print(f"kept: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if crawl.rate else 1


def _busy_seconds(times: Any) -> float:
    """CPU seconds the whole machine spent not idle, from ``psutil.cpu_times()``."""
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a live process."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


if __name__ == "__main__":
    sys.exit(main())
