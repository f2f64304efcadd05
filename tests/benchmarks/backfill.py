"""Backfill benchmark (issue 22): a bare WARC scan, ``autonews backfill`` and fundus' CC-NEWS crawler, side by side.

Usage, from the repository root (the machine is shared: ``nice`` it)::

    nice -n 10 python -m tests.benchmarks.backfill [--size-mb 200] [--files 4] [--check]

A generated CC-NEWS month (``tests.benchmarks.backfill_warc``: >= 200 MB of gzipped WARC, ~1 % of
the records registry articles from ``../shared/bench/fundus-publishers``, the rest other hosts'
pages, request records, non-HTML, non-200 and a revisit) is served on 127.0.0.1 with Range support
(``tests.benchmarks.backfill_server``), and three contenders read the same files over HTTP, one
after the other, each as its own process tree:

- **scan limit**: two bare loops reading every header and skipping every body, the files one after
  the other (``tests.benchmarks.backfill_scan``): FastWARC's own (it inflates and parses), and autonews'
  reader's (ISA-L inflates outside the GIL, FastWARC parses); the round's limit is the faster of them;
- **autonews**: ``autonews backfill --cc-news --from .. --to ..`` with ``AUTONEWS_CC_NEWS_URL`` at
  the server, default settings otherwise (2 files at a time, jittered starts, the extraction pool);
- **fundus**: ``fundus.CCNewsCrawler(..., server_address=<server>)`` with the pages' publishers, in
  its own virtual environment (``<cache>/fundus-venv``, made on first use: fundus pins fastwarc < 0.16).

Per contender: *records/s scanned* = the files' records / its scan window (from its first WARC
request to the last WARC byte the server sent it: startup and the work after the last byte are
outside, alike for all); *articles/s* = articles it delivered / its whole wall time; CPU seconds
and peak RSS of its whole process tree (psutil, polled every 50 ms, pool workers included).
Targets (``--check`` exits 1 when one is missed): autonews scans at >= 0.8x the bare loop's
records/s, delivers >= 1.0x fundus' articles/s (goal 1.5x), and its tree's peak RSS <= 400 MB.
Generated data lives in the cache directory (default ``~/.cache/autonews-bench``), never in the repo.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import subprocess
import sys
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.backfill_server import RangeServer
from tests.benchmarks.backfill_warc import FORMAT_VERSION, MONTH, generate, load_articles, registry_yaml
from tests.benchmarks.throughput_measure import Measured, run_measured

ROOT = Path(__file__).resolve().parents[2]
FUNDUS_VERSION = "0.5.7"
FUNDUS_PINS = ("curl-cffi<0.16",)
"""fundus 0.5.7 imports ``curl_cffi.requests.impersonate.normalize_browser_type``, gone in curl-cffi 0.16."""
FUNDUS_SCRIPT = Path(__file__).with_name("backfill_fundus.py")
LAST_DAY = calendar.monthrange(*MONTH)[1]
MIN_SCAN_RATIO = 0.8
MIN_ARTICLE_RATIO = 1.0
GOAL_ARTICLE_RATIO = 1.5
MAX_RSS_MB = 400.0


@dataclass
class Row:
    """One contender's figures."""

    name: str
    measured: Measured | None
    articles: int
    window: float
    records: int
    note: str = ""

    @property
    def scan_rate(self) -> float:
        """Records of the files per second of its scan window."""
        return self.records / self.window if self.window > 0 else 0.0

    @property
    def article_rate(self) -> float:
        """Articles delivered per second of wall time."""
        return self.articles / self.measured.seconds if self.measured and self.measured.seconds else 0.0

    @property
    def rss_mb(self) -> float:
        """Peak RSS of the process tree, MB."""
        return self.measured.sampler.peak / 1e6 if self.measured else 0.0


def default_bench() -> Path:
    """``../shared/bench`` beside the checkout (or beside one of its parents: a worktree lives deeper)."""
    for parent in ROOT.parents:
        candidate = parent / "shared" / "bench"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "bench"


def fundus_python(cache: Path) -> Path:
    """fundus' own interpreter, the virtual environment made (and fundus installed) on first use."""
    home = cache / "fundus-venv"
    python = home / "bin" / "python"
    if not python.exists():
        print(f"making fundus' virtual environment in {home} ...", file=sys.stderr)
        venv.create(home, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"fundus=={FUNDUS_VERSION}", *FUNDUS_PINS],
                       check=True)
    return python


def prepare(bench: Path, cache: Path, python: Path, size_mb: int, files: int) -> tuple[Path, dict]:
    """The served month (generated once per parameters) and its facts."""
    found = subprocess.run([str(python), str(FUNDUS_SCRIPT), "match", str(bench)], check=True,
                           capture_output=True, text=True)
    matches: dict[str, str] = json.loads(found.stdout)
    root = cache / f"warc-v{FORMAT_VERSION}-{size_mb}mb-{files}f"
    facts_file = root / "facts.json"
    facts = json.loads(facts_file.read_text(encoding="utf-8")) if facts_file.exists() else {}
    if facts.get("version") != FORMAT_VERSION:
        print(f"generating {size_mb} MB of WARC in {root} ...", file=sys.stderr)
        facts = generate(bench, load_articles(bench, matches), root, size_mb, files)
    # the hosts of the articles placed in the files (fewer than the pages in a small run)
    (root / "registry.yaml").write_text(registry_yaml(facts["article_urls"]), encoding="utf-8")
    return root, facts


def window_of(server: RangeServer) -> float:
    """Seconds from the first WARC request to the last WARC byte sent since the last call."""
    transfers = server.take_transfers()
    if not transfers:
        return 0.0
    return max(t.ended for t in transfers) - min(t.started for t in transfers)


def _json_tail(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


SCAN_LOOPS = {"fastwarc": "scan limit (FastWARC loop)",
              "isal": "scan limit (ISA-L inflate + FastWARC parse)"}
"""The bare loops (``tests.benchmarks.backfill_scan --reader``): the library's own, and autonews' reader's."""


def run_scan(server: RangeServer, facts: dict, reader: str = "fastwarc") -> Row:
    """A bare loop of ``reader`` over the files, one after the other."""
    urls = [server.base_url + path for path in facts["files"]]
    measured = run_measured([sys.executable, "-m", "tests.benchmarks.backfill_scan", "--reader", reader, *urls],
                            cwd=ROOT)
    window = window_of(server)
    result = _json_tail(measured.out)
    note = "" if measured.returncode == 0 else f"exit {measured.returncode}: {measured.err[-300:]}"
    if result.get("records") not in (None, facts["records"]):
        note = f"read {result['records']} of {facts['records']} records"
    return Row(SCAN_LOOPS[reader], measured, 0, window, facts["records"], note)


def scan_limit(loops: list[Row]) -> Row | None:
    """A round's scan limit: the faster of its bare loops (records/s), so that the target is the stricter."""
    ran = [row for row in loops if row.measured is not None and row.measured.returncode == 0 and row.scan_rate]
    return max(ran, key=lambda row: row.scan_rate) if ran else None


def count_articles(output: Path) -> int:
    """Article lines in the output's sealed JSON Lines files."""
    total = 0
    for file in output.rglob("*.jsonl"):
        if file.name != "manifest.jsonl" and "warc" not in file.relative_to(output).parts:
            with file.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
    return total


def run_autonews(server: RangeServer, facts: dict, registry: Path, autonews: Path, output: Path,
                 settings: list[str], name: str = "autonews backfill") -> Row:
    """``autonews backfill --cc-news`` over the served month into a fresh ``output``."""
    year, month = MONTH
    cmd = [str(autonews), "backfill", "--cc-news", "--from", f"{year:04d}-{month:02d}-01",
           "--to", f"{year:04d}-{month:02d}-{LAST_DAY:02d}", "--sources", str(registry), "--output", str(output),
           "-s", f"AUTONEWS_CC_NEWS_URL={server.base_url}", "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1",
           *(flag for setting in settings for flag in ("-s", setting))]
    measured = run_measured(cmd, cwd=output.parent)
    window = window_of(server)
    note = "" if measured.returncode == 0 else f"exit {measured.returncode}: {measured.err.strip()[-400:]}"
    return Row(name, measured, count_articles(output) if output.exists() else 0, window,
               facts["records"], note)


def run_fundus(server: RangeServer, facts: dict, python: Path, processes: int) -> Row:
    """fundus' CCNewsCrawler over the served month, in its own environment."""
    year, month = MONTH
    cmd = [str(python), str(FUNDUS_SCRIPT), "crawl", server.base_url, f"{year:04d}-{month:02d}-01T00:00:00",
           f"{year:04d}-{month:02d}-{LAST_DAY:02d}T23:59:59", str(processes), *facts["publishers"]]
    measured = run_measured(cmd)
    window = window_of(server)
    result = _json_tail(measured.out)
    note = "" if measured.returncode == 0 else f"exit {measured.returncode}: {measured.err.strip()[-400:]}"
    if result.get("failed"):
        note = f"{result['failed']} articles with a parser exception"
    return Row(f"fundus {FUNDUS_VERSION} CCNewsCrawler", measured, int(result.get("articles", 0)), window,
               facts["records"], note)


def table(rows: list[Row]) -> str:
    """The figures as a Markdown table."""
    lines = ["| contender | wall s | scan window s | records/s scanned | articles | articles/s | CPU s | "
             "peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        m = row.measured
        lines.append(f"| {row.name} | {m.seconds:.1f} | {row.window:.1f} | {row.scan_rate:,.0f} | "
                     f"{row.articles if row.articles else '-'} | "
                     f"{f'{row.article_rate:.1f}' if row.articles else '-'} | {m.tree_cpu:.1f} | {row.rss_mb:.0f} |"
                     if m else f"| {row.name} | - | - | - | - | - | - | - |")
    return "\n".join(lines)


def median(values: list[float]) -> float:
    """The middle value (the lower middle of an even count: never a value that was not measured)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0.0


def median_row(rows: list[Row], key: str) -> Row | None:
    """The round whose ``key`` (a Row attribute) is the median of the rounds'."""
    if not rows:
        return None
    ordered = sorted(rows, key=lambda row: getattr(row, key))
    return ordered[(len(ordered) - 1) // 2]


def round_ratios(scan: Row | None, ours: Row | None, fundus: Row | None) -> dict[str, float]:
    """One round's ratios: autonews' records/s over the bare loop's, its articles/s over fundus'."""
    ratios: dict[str, float] = {}
    if ours is None or ours.measured is None:
        return ratios
    if scan is not None and scan.scan_rate:
        ratios["scan"] = ours.scan_rate / scan.scan_rate
    if fundus is not None and fundus.article_rate:
        ratios["articles"] = ours.article_rate / fundus.article_rate
    return ratios


def verdict(rounds: list[tuple[Row | None, Row | None, Row | None]]) -> list[tuple[str, bool]]:
    """Each target as (line, held): the ratios' medians over the rounds, the worst exit status and RSS."""
    runs = [ours for _, ours, _ in rounds if ours is not None and ours.measured is not None]
    if not runs:
        return [("autonews backfill did not run", False)]
    checks: list[tuple[str, bool]] = []
    failed = [ours for ours in runs if ours.measured.returncode != 0]
    worst = failed[0] if failed else runs[0]
    checks.append((f"autonews exit status {worst.measured.returncode} (0 expected)"
                   f"{' - ' + worst.note if worst.note else ''}", not failed))
    ratios = [round_ratios(*one) for one in rounds]
    each = " in the rounds: " if len(rounds) > 1 else ""
    scans = [r["scan"] for r in ratios if "scan" in r]
    if scans:
        ratio = median(scans)
        detail = f"{each}{', '.join(f'{x:.2f}' for x in scans)}" if each else ""
        checks.append((f"scanning: {ratio:.2f}x the faster bare loop's records/s (target >= {MIN_SCAN_RATIO}){detail}",
                       ratio >= MIN_SCAN_RATIO))
    articles = [r["articles"] for r in ratios if "articles" in r]
    if articles:
        ratio = median(articles)
        detail = f"{each}{', '.join(f'{x:.2f}' for x in articles)}" if each else ""
        checks.append((f"articles/s: {ratio:.2f}x fundus' (target >= {MIN_ARTICLE_RATIO}, goal {GOAL_ARTICLE_RATIO})"
                       f"{detail}", ratio >= MIN_ARTICLE_RATIO))
    rss = max(ours.rss_mb for ours in runs)
    checks.append((f"peak RSS of autonews' tree: {rss:.0f} MB (target <= {MAX_RSS_MB:.0f}; the largest of the rounds)",
                   rss <= MAX_RSS_MB))
    return checks


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the month, serve it, run the contenders, print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="gzipped WARC bytes to generate, MB (default 200)")
    parser.add_argument("--files", type=int, default=2, help="WARC files the month is split into (default 2: as many as "
                        "autonews and fundus read at once here; a CC-NEWS file is ~1 GB)")
    parser.add_argument("--bench", type=Path, default=default_bench(), help="../shared/bench")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "autonews-bench",
                        help="where the generated WARC files and fundus' environment live")
    parser.add_argument("--autonews", type=Path, default=Path(sys.executable).with_name("autonews"),
                        help="the autonews script to measure (default: the one beside this Python)")
    parser.add_argument("--fundus-processes", type=int, default=os.cpu_count() or 1,
                        help="fundus' worker processes (default: one per core, fundus' own default)")
    parser.add_argument("--only", action="append", choices=("scan", "autonews", "scan-only", "fundus"),
                        help="run only these contenders (repeatable)")
    parser.add_argument("-s", dest="settings", metavar="NAME=VALUE", action="append", default=[],
                        help="an autonews setting for its run (repeatable), e.g. AUTONEWS_BACKFILL_JITTER=0")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all contenders, one after the other (default "
                        "3): the verdict takes the median of the rounds' ratios (a shared machine's load drifts)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    only = set(args.only or ("scan", "autonews", "scan-only", "fundus"))
    args.rounds = max(1, args.rounds)
    args.cache.mkdir(parents=True, exist_ok=True)
    python = fundus_python(args.cache)
    root, facts = prepare(args.bench, args.cache, python, args.size_mb, args.files)
    print(f"{len(facts['files'])} WARC files, {facts['bytes'] / 1e6:.0f} MB gzipped, {facts['records']:,} records, "
          f"{facts['articles']} registry articles ({100 * facts['articles'] / facts['records']:.2f} %) of "
          f"{len(facts['publishers'])} fundus publishers; load average before: {os.getloadavg()[0]:.2f}")
    rounds: list[tuple[Row | None, Row | None, Row | None]] = []
    extras: list[Row] = []
    bare: list[Row] = []
    with RangeServer(root) as server, tempfile.TemporaryDirectory(prefix="autonews-backfill-bench-") as work:
        for number in range(1, args.rounds + 1):
            scan = ours = fundus = None
            if "scan" in only:
                loops = [run_scan(server, facts, reader) for reader in SCAN_LOOPS]
                bare.extend(loops)
                scan = scan_limit(loops)
            if "autonews" in only:
                if args.autonews.exists():
                    ours = run_autonews(server, facts, root / "registry.yaml", args.autonews,
                                        Path(work) / f"output-{number}", args.settings)
                else:
                    print(f"no autonews script at {args.autonews}: its column is skipped", file=sys.stderr)
            if "scan-only" in only and args.autonews.exists():
                # diagnostic: the same run with a registry whose one host is in no record: autonews' scanning
                # alone (reader threads, HTTP, header checks), without extraction competing for the cores
                registry = Path(work) / "no-hosts.yaml"
                registry.write_text("sources:\n  - name: elsewhere\n    start_urls: ['https://no-such-host.example/']\n",
                                    encoding="utf-8")
                extras.append(run_autonews(server, facts, registry, args.autonews,
                                           Path(work) / f"scan-only-output-{number}", args.settings,
                                           name="autonews, no record kept (diagnostic)"))
            if "fundus" in only:
                fundus = run_fundus(server, facts, python, args.fundus_processes)
            rounds.append((scan, ours, fundus))
            if args.rounds > 1:
                ratios = round_ratios(scan, ours, fundus)
                print(f"round {number}: " + (", ".join(f"{name} {value:.2f}x" for name, value in ratios.items())
                                             or "no ratio") +
                      f"; wall s: {', '.join(f'{row.name.split()[0]} {row.measured.seconds:.1f}' for row in (scan, ours, fundus) if row is not None and row.measured)}",
                      flush=True)
    # the table shows each contender's median round (records/s for the scans, articles/s for the others)
    scan = median_row([r[0] for r in rounds if r[0] is not None], "scan_rate")
    loops = [median_row([row for row in bare if row.name == name], "scan_rate") for name in SCAN_LOOPS.values()]
    ours = median_row([r[1] for r in rounds if r[1] is not None], "article_rate")
    fundus = median_row([r[2] for r in rounds if r[2] is not None], "article_rate")
    extra = median_row(extras, "scan_rate")
    rows = [row for row in (*loops, ours, extra, fundus) if row is not None]
    print(table(rows))
    for row in rows:
        others = row.measured.others_cpu if row.measured else 0.0
        split = ""
        if row.measured:
            main_cpu = row.measured.sampler.cpu.get(row.measured.sampler.pid, 0.0)
            split = f"CPU s: main process {main_cpu:.1f}, its children {row.measured.tree_cpu - main_cpu:.1f}; "
        print(f"  {row.name}: {split}other processes on the machine used {others:.1f} CPU s meanwhile"
              f"{'; ' + row.note if row.note else ''}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.rounds > 1:
        print(f"(each contender's median round of {args.rounds}; the ratios below are medians of the rounds' own ratios, "
              "each round's contenders run one after the other)")
    if scan is not None and extra is not None and scan.scan_rate:
        print(f"info autonews' reader alone (no record kept) scans at {extra.scan_rate / scan.scan_rate:.2f}x "
              "the bare loop's records/s (not a target: it shows what extraction takes from the scan)")
    if ours is not None and fundus is not None and ours.measured and fundus.measured:
        ours_cpu = ours.measured.tree_cpu / max(ours.articles, 1)
        their_cpu = fundus.measured.tree_cpu / max(fundus.articles, 1)
        print(f"info CPU per article, whole tree: autonews {1000 * ours_cpu:.0f} ms, fundus {1000 * their_cpu:.0f} ms")
    checks = verdict(rounds)
    for line, held in checks:
        print(f"{'ok  ' if held else 'MISS'} {line}")
    return 1 if args.check and not all(held for _, held in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
