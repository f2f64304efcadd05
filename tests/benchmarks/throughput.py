"""Crawl throughput: ``autonews crawl`` of a local site against trafilatura's own CLI (issue 12).

    python -m tests.benchmarks.throughput [--pages N] [--repeat R] [--scale N1,N2,...] [--check]
                                          [--plain-pages K] [--with-peers] [--keep] [-s KEY=VALUE]...

Builds a site of N distinct pages from the article-extraction benchmark's HTML in a temp dir
(see tests/benchmarks/throughput_site.py), serves it from a separate process on 127.0.0.1, and in
one run measures, over the same URLs:

- trafilatura's own command line, the yardstick: ``trafilatura -i urls.txt --parallel 2 --no-comments``
  (download + extraction; ``SLEEP_TIME = 0`` and ``SSRF_PROTECTION = off``, or it would wait between
  requests and refuse 127.0.0.1), in its own virtualenv under ~/.cache/autonews-bench (created on
  first use; see throughput_peers.py);
- the full crawl (fetch + extract + language + dedupe + store) as ``autonews crawl`` through the
  site's sitemap.

Both run as subprocesses, measured the same way (throughput_measure.py): wall time from start to
exit (interpreter start-up included), pages/s, and for the whole process tree (main process,
forkserver, pool workers), polled every 50 ms while it runs, the CPU seconds and the peak RSS
(RSS summed over the tree). The crawl is credited with the article pages it fetched (the sitemap
is not one). Start-up is in both figures, and autonews's is the heavier (Scrapy, a pool of
workers): at a few hundred pages it weighs on the ratios; issue 12 judges 1,000 to 10,000 pages.
Then, informational: a plain loop of
``trafilatura.extract(html, include_comments=False)`` over the first K pages' HTML in this process
(only the loop timed; K defaults to min(N, 2000); 0 skips it) and, with ``--with-peers``,
news-please's ``from_html`` over the first 200 pages.

Order: the two runs share one machine (and, here, other people's measurements), so whichever runs
second may meet a different load. The CLI runs first, then the crawl; with ``--repeat R`` the pair
runs R times, alternating which goes first, and each figure of the table is the median of its R
runs (the diagnostics are those of the run with the median wall time). R = 3 is a good choice on
a shared machine: one run's outlier (another user's job) cannot move a median of three.

Prints the table (trafilatura CLI, autonews crawl, the ratio autonews / trafilatura, then the
informational rows), diagnostic lines (CPU of the crawl's main process vs. its pool, RSS in the
first and second half of the crawl, PSS, the peak RSS of the main process and of its largest other
process, what other processes used meanwhile), and a verdict against issue 12's acceptance: CPU per
page <= 1.5x the CLI's, pages/s >= 1.0x the CLI's, peak RSS of the crawl's tree <= 400 MB
(tests/benchmarks/throughput_verdict.py).

``--scale 1000,10000`` runs the comparison at each size (``--pages`` is then ignored) and adds a
table of autonews's CPU ms/page, pages/s and peak RSS per size and whether CPU per page and peak RSS
stay flat: at most +15% from the smallest to the largest size (a fall is start-up cost spread
over more pages, so only growth fails).

``--check`` exits 1 when an acceptance line (and, with ``--scale``, a flatness line) fails;
without it the exit status is 1 only when the crawl itself failed.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.quality import DEFAULT_BENCH
from tests.benchmarks.throughput_measure import cpu_of, run_measured
from tests.benchmarks.throughput_peers import run_news_please, run_trafilatura_cli
from tests.benchmarks.throughput_site import build_site, url_list
from tests.benchmarks.throughput_table import MB, Ratio, Row, median_row, scale_table, table
from tests.benchmarks.throughput_verdict import Check, acceptance, all_pass, flatness, verdict_lines

CRAWL_SETTINGS = ("AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                  "ROBOTSTXT_OBEY=False", "LOG_LEVEL=INFO", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1")
CLI_PARALLEL = 2  # issue 12: trafilatura's CLI with --parallel 2, as many as the machine's cores
NEWS_PLEASE_PAGES = 200
_SUMMARY = re.compile(r"article pages fetched: (\d+), articles written: (\d+)")


@dataclass
class Comparison:
    """The results at one site size: the median rows of the two contenders, every run, and the extras."""

    pages: int
    cli: Row
    crawl: Row
    cli_runs: list[Row]
    crawl_runs: list[Row]
    plain: Row | None = None
    peers: list[Row] = field(default_factory=list)
    server_cpu: float = 0.0

    def checks(self) -> list[Check]:
        """Issue 12's acceptance lines at this size."""
        return acceptance(self.crawl, self.cli)


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    """Serve ``root`` from a separate process; returns it and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.throughput_server", str(root)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://"):
        proc.kill()
        proc.wait()
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


def run_crawl(registry: Path, base_url: str, work: Path, overrides: list[str], server_pid: int | None = None) -> Row:
    """Run ``autonews crawl`` over the site in a subprocess (output and log under ``work``, a fresh dir per run).

    ``pages`` of the row is the number of article pages fetched (the sitemap is not a page), so a
    crawl that missed pages is not credited with them.
    """
    work.mkdir(parents=True, exist_ok=True)
    subst = json.dumps({"{{BASE}}": base_url})
    cmd = [autonews_exe(), "crawl", "--sources", str(registry), "--output", str(work / "output"),
           "--log-file", str(work / "crawl.log"), "-s", f"AUTONEWS_SUBSTITUTIONS={subst}"]
    for setting in (*CRAWL_SETTINGS, *overrides):
        cmd += ["-s", setting]
    run = run_measured(cmd, cwd=work, server_pid=server_pid)
    row = Row("autonews crawl (fetch+extract+language+dedupe+store)", seconds=run.seconds,
              peak_rss=run.sampler.peak, cpu=run.tree_cpu)
    match = _SUMMARY.search(run.err)
    if run.returncode != 0 or match is None:
        row.note = f"FAILED (exit {run.returncode}): {run.err.strip()[-300:]}"
        return row
    fetched, written = int(match.group(1)), int(match.group(2))
    row.pages = fetched  # "article pages fetched": the sitemap and robots.txt are not counted
    row.note = f"{row.pages} pages fetched (+ the sitemap), {written} articles written"
    main_cpu = run.sampler.cpu.get(run.sampler.pid, 0.0)
    row.extra = {**run.extra(), "written": written, "main_cpu": main_cpu, "other_cpu": run.tree_cpu - main_cpu,
                 "rss_first_half": run.sampler.peak_between(0, 0.5),
                 "rss_second_half": run.sampler.peak_between(0.5, 1.0),
                 "rss_main": float(run.sampler.peak_by_pid.get(run.sampler.pid, 0)),
                 "rss_others_max": float(max((rss for pid, rss in run.sampler.peak_by_pid.items()
                                              if pid != run.sampler.pid), default=0)),
                 "others": float(len(run.sampler.peak_by_pid) - 1)}
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
    return Row("(info) trafilatura.extract loop, 1 process, HTML in memory", pages=len(htmls), seconds=seconds,
               cpu=time.process_time() - cpu)


def run_pair(index: int, registry: Path, base_url: str, urls: Path, pages: int, work: Path,
             overrides: list[str], server_pid: int) -> tuple[Row, Row]:
    """One trafilatura CLI run and one crawl, CLI first on even ``index``, crawl first on odd; (cli, crawl)."""
    run_dir = work / f"run{index}"

    def cli() -> Row:
        return run_trafilatura_cli(run_dir / "cli", urls, pages, CLI_PARALLEL, server_pid=server_pid)

    def crawl() -> Row:
        return run_crawl(registry, base_url, run_dir / "crawl", overrides, server_pid=server_pid)

    if index % 2 == 0:
        first_cli = cli()
        return first_cli, crawl()
    first_crawl = crawl()
    return cli(), first_crawl


def compare(bench: Path, work: Path, pages: int, *, repeat: int = 1, overrides: list[str] | None = None,
            plain_pages: int = 0, with_peers: bool = False, keep: bool = False) -> Comparison:
    """Build and serve a site of ``pages`` pages under ``work``, run the pair ``repeat`` times and the extras."""
    size_dir = work / f"n{pages}"
    registry, htmls = build_site(bench, size_dir / "site", pages, keep=plain_pages)
    urls = size_dir / "urls.txt"
    server, base_url = start_server(size_dir / "site")
    server_before = cpu_of(server.pid)
    cli_runs: list[Row] = []
    crawl_runs: list[Row] = []
    try:
        urls.write_text(url_list(base_url, pages), encoding="utf-8")
        for index in range(repeat):
            cli_row, crawl_row = run_pair(index, registry, base_url, urls, pages, size_dir, overrides or [],
                                          server.pid)
            cli_runs.append(cli_row)
            crawl_runs.append(crawl_row)
        server_cpu = cpu_of(server.pid) - server_before
        result = Comparison(pages, median_row(cli_runs), median_row(crawl_runs), cli_runs, crawl_runs,
                            server_cpu=server_cpu)
        if htmls:
            result.plain = run_plain(htmls)
        del htmls
        if with_peers:
            result.peers.append(run_news_please(size_dir / "site", min(pages, NEWS_PLEASE_PAGES)))
    finally:
        stop_server(server)
        if not keep:
            shutil.rmtree(size_dir, ignore_errors=True)  # 10,000 pages are 1.7 GB on disk
    return result


def report(result: Comparison, overrides: list[str], bench: Path) -> list[str]:
    """The table, the diagnostic lines and the verdict of one comparison."""
    crawl, cli, plain = result.crawl, result.cli, result.plain
    workers = next((o.split("=", 1)[1] for o in overrides if o.startswith("AUTONEWS_POOL_PROCESSES=")), "default")
    repeat = len(result.crawl_runs)
    lines = [f"throughput: {result.pages} pages from {bench.name} (every copy varied, canonical tags removed), "
             f"{os.cpu_count()} cores, AUTONEWS_POOL_PROCESSES={workers}, site served by a separate process "
             f"(it used {result.server_cpu:.1f} CPU s over the {2 * repeat} runs); "
             + ("trafilatura CLI first, then the crawl" if repeat == 1
                else f"{repeat} runs each, alternating which goes first, medians shown")]
    rows: list[Row | Ratio] = [cli, crawl, Ratio("autonews / trafilatura", crawl, cli)]
    rows += [r for r in (plain, *result.peers) if r is not None]
    lines.append(table(rows))
    lines += diagnostics(result)
    lines.append("")
    lines += verdict_lines(f"issue 12 acceptance at {result.pages} pages:", result.checks())
    return lines


def diagnostics(result: Comparison) -> list[str]:
    """The crawl's CPU split and memory over time, the plain-loop ratio, and the machine's other load."""
    crawl, cli, plain = result.crawl, result.cli, result.plain
    lines: list[str] = []
    if not crawl.rate:
        return lines
    extra = crawl.extra
    if plain is not None and plain.rate:
        lines.append(f"ratio crawl / plain loop (pages/s): {crawl.rate / plain.rate:.2f}")
    lines.append(f"crawl peak RSS {(crawl.peak_rss or 0) / MB:.0f} MB (first half of the run "
                 f"{extra['rss_first_half'] / MB:.0f} MB, second half {extra['rss_second_half'] / MB:.0f} MB); "
                 f"peak PSS (shared pages counted once) {extra['peak_pss'] / MB:.0f} MB; per process: main "
                 f"{extra['rss_main'] / MB:.0f} MB, the largest of its {extra['others']:.0f} other processes "
                 f"{extra['rss_others_max'] / MB:.0f} MB")
    lines.append(f"crawl CPU: main process {extra['main_cpu']:.1f} s, pool workers and helpers "
                 f"{extra['other_cpu']:.1f} s")
    if cli.rate:
        # one process, reaped by this harness: the kernel's exact account checks the polling (which can
        # miss each process's last 50 ms). The crawl's pool workers are not reaped by it: no such check.
        lines.append(f"trafilatura CLI CPU {cli.cpu or 0:.1f} s polled, {cli.extra['rusage_cpu']:.1f} s "
                     "as the kernel accounts it at exit")
        cores = os.cpu_count() or 1
        lines.append(f"other processes on the machine used {cli.extra['others_cpu']:.1f} CPU s during the CLI run "
                     f"and {extra['others_cpu']:.1f} during the crawl (of {(cli.seconds or 0) * cores:.0f} and "
                     f"{(crawl.seconds or 0) * cores:.0f} available): a large share makes the figures noisy")
    if len(result.crawl_runs) > 1:
        lines.append("runs (wall s, CPU ms/page): CLI " + _spread(result.cli_runs)
                     + "; crawl " + _spread(result.crawl_runs))
    return lines


def _spread(runs: list[Row]) -> str:
    """Each run's wall time and CPU per page, in run order."""
    return ", ".join(f"{r.seconds:.1f}/{r.cpu_ms:.1f}" if r.rate and r.cpu_ms else "failed" for r in runs)


def scale_report(results: list[Comparison]) -> tuple[list[str], list[Check]]:
    """Per-size figures of autonews next to the CLI's, and the flatness verdict."""
    checks = flatness([(r.pages, r.crawl) for r in results])
    lines = ["", "scale: autonews crawl per site size (CLI alongside)",
             scale_table([(r.pages, r.crawl, r.cli) for r in results]), ""]
    lines += verdict_lines(f"flatness from {results[0].pages} to {results[-1].pages} pages "
                           "(start-up cost falls per page with size; only growth fails):", checks)
    failed_sizes = [r.pages for r in results if not all_pass(r.checks())]
    failed = "FAIL at " + ", ".join(map(str, failed_sizes)) if failed_sizes else "PASS"
    lines.append(f"acceptance at every size: {failed}")
    return lines, checks


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages on the site (default 1000)")
    parser.add_argument("--scale", type=_sizes, default=None, metavar="N1,N2,...",
                        help="run the comparison at each size and judge flatness (e.g. 1000,10000); overrides --pages")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the CLI/crawl pair R times, alternating the order; medians shown (default 1)")
    parser.add_argument("--plain-pages", type=int, default=None,
                        help="pages the informational trafilatura.extract loop times "
                             "(default min(pages, 2000); 0: skip)")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--with-peers", action="store_true",
                        help="also run news-please (own virtualenv, created on demand)")
    parser.add_argument("--check", action="store_true", help="exit 1 when an acceptance (or flatness) line fails")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (site, outputs, crawl logs)")
    parser.add_argument("-s", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra setting for the crawl (repeatable), e.g. -s AUTONEWS_POOL_PROCESSES=2")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _sizes(text: str) -> list[int]:
    """``"1000,10000"`` -> ``[1000, 10000]`` (sorted, each at least 1)."""
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of page counts: {text!r}") from exc
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"not a list of positive page counts: {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (at each size with ``--scale``), print the tables and verdicts; see the docstring."""
    args = parse_args(argv)
    if not (args.bench / "ground-truth.json").is_file():
        print(f"no benchmark at {args.bench}")
        return 2
    sizes = args.scale or [args.pages]
    work = Path(tempfile.mkdtemp(prefix="autonews-throughput-"))
    results: list[Comparison] = []
    checks: list[Check] = []
    try:
        for number, pages in enumerate(sizes):
            # the plain loop and news-please do not depend on the site's size: once is enough
            plain = min(pages, 2000) if args.plain_pages is None else min(pages, args.plain_pages)
            result = compare(args.bench, work, pages, repeat=args.repeat, overrides=args.overrides,
                             plain_pages=plain if number == 0 else 0, with_peers=args.with_peers and number == 0,
                             keep=args.keep)
            results.append(result)
            checks += result.checks()
            print(("\n" if number else "") + "\n".join(report(result, args.overrides, args.bench)), flush=True)
        if len(results) > 1:
            lines, flat = scale_report(results)
            checks += flat
            print("\n".join(lines))
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if not all(r.crawl.rate for r in results):
        return 1
    return 1 if args.check and not all_pass(checks) else 0


if __name__ == "__main__":
    sys.exit(main())
