"""Peers for the throughput benchmark: trafilatura's own CLI (the yardstick of issue 12, run on every
benchmark run) and news-please (``--with-peers``), each in its own virtualenv.

The virtualenvs live under ~/.cache/autonews-bench (outside the repository) and are created on
first use with pip; a peer that cannot be installed or run is reported as a table row with the
reason instead of figures.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import venv
from pathlib import Path

from tests.benchmarks.rss import RssSampler
from tests.benchmarks.throughput_measure import run_measured
from tests.benchmarks.throughput_table import Row

VENVS = Path.home() / ".cache" / "autonews-bench"
PEERS = {
    "trafilatura": ["trafilatura==2.3.1", "lxml_html_clean"],
    "news-please": ["news-please"],
}
# trafilatura's CLI waits SLEEP_TIME s between two requests to one host and refuses loopback
# addresses by default; both would measure the settings rather than the tool
TRAFILATURA_CONFIG = """[DEFAULT]
DOWNLOAD_TIMEOUT = 30
MAX_FILE_SIZE = 20000000
MIN_FILE_SIZE = 10
SLEEP_TIME = 0
USER_AGENTS =
COOKIE =
MAX_REDIRECTS = 2
SSRF_PROTECTION = off
INSECURE_SSL_FALLBACK = on
MIN_EXTRACTED_SIZE = 250
MIN_OUTPUT_SIZE = 1
MIN_OUTPUT_COMM_SIZE = 1
MAX_TREE_SIZE =
EXTRACTION_TIMEOUT = 30
MIN_DUPLCHECK_SIZE = 100
MAX_REPETITIONS = 2
EXTENSIVE_DATE_SEARCH = on
EXTERNAL_URLS = off
"""
NEWS_PLEASE_LOOP = textwrap.dedent("""
    import logging, sys, time
    from pathlib import Path
    from newsplease import NewsPlease
    logging.disable(logging.CRITICAL)
    root, n = Path(sys.argv[1]), int(sys.argv[2])
    pages = [(root / f"news/{i:05d}.html").read_text(encoding="utf-8") for i in range(n)]
    started, cpu = time.perf_counter(), time.process_time()
    found = failed = 0
    for i, html in enumerate(pages):
        try:
            article = NewsPlease.from_html(html, url=f"http://127.0.0.1/news/{i:05d}.html", fetch_images=False)
        except Exception:  # e.g. a Korean page without nltk: counted, as a crawl would skip it
            failed += 1
            continue
        found += bool(article is not None and article.maintext)
    print(f"{time.perf_counter() - started:.3f} {time.process_time() - cpu:.3f} {found} {failed}")
""")


def ensure_venv(name: str) -> Path | str:
    """The peer's virtualenv (created and pip-installed on first use), or why it is unavailable."""
    env = VENVS / name
    python = env / "bin" / "python"
    marker = env / ".installed"
    if marker.exists():
        return python
    try:
        venv.create(env, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS[name]], check=True,
                       capture_output=True, text=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return f"install failed: {detail.strip().splitlines()[-1] if detail.strip() else exc}"
    marker.write_text(" ".join(PEERS[name]) + "\n")
    return python


def run_trafilatura_cli(work: Path, urls: Path, pages: int, parallel: int, server_pid: int | None = None) -> Row:
    """``trafilatura -i urls.txt`` (download + extract, ``--parallel`` download threads) into ``work``.

    Its config and output directory are written under ``work``, which should be fresh for each run.
    ``server_pid`` (the site server) only serves the diagnostics of what else used the CPU meanwhile.
    """
    name = f"trafilatura CLI -i urls.txt --parallel {parallel} --no-comments (download+extract)"
    python = ensure_venv("trafilatura")
    if isinstance(python, str):
        return Row(name, note=python)
    work.mkdir(parents=True, exist_ok=True)
    config = work / "trafilatura.cfg"
    config.write_text(TRAFILATURA_CONFIG, encoding="utf-8")
    out = work / "trafilatura-out"
    cmd = [str(python.parent / "trafilatura"), "-i", str(urls), "-o", str(out), "--parallel", str(parallel),
           "--no-comments", "--config-file", str(config)]
    run = run_measured(cmd, server_pid=server_pid)
    written = len(list(out.glob("*"))) if out.is_dir() else 0
    if run.returncode != 0:
        return Row(name, note=f"FAILED (exit {run.returncode}): {run.err.strip()[-200:]}")
    return Row(name, pages=pages, seconds=run.seconds, peak_rss=run.sampler.peak, cpu=run.tree_cpu,
               note=f"{written} files written", extra=run.extra())


def run_news_please(site: Path, pages: int) -> Row:
    """``NewsPlease.from_html`` over the first pages of the site, in one process (only the loop timed)."""
    name = f"news-please from_html loop, 1 process, first {pages} pages"
    python = ensure_venv("news-please")
    if isinstance(python, str):
        return Row(name, note=python)
    proc = subprocess.Popen([str(python), "-c", NEWS_PLEASE_LOOP, str(site), str(pages)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with RssSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    if proc.returncode != 0 or not out.strip():
        return Row(name, note=f"failed (exit {proc.returncode}): {err.strip()[-200:]}")
    seconds, cpu, found, failed = out.split()
    # the loop's own CPU: the process's would add imports and reading the pages to a timed loop
    return Row(name, pages=pages, seconds=float(seconds), peak_rss=sampler.peak, cpu=float(cpu),
               note=f"{found} with a main text, {failed} raised an exception")


if __name__ == "__main__":
    sys.exit("run python -m tests.benchmarks.throughput (--with-peers adds news-please)")
