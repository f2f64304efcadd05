"""Issue 12's acceptance lines for the throughput benchmark, each judged PASS / FAIL with its figures.

- CPU per page of the autonews crawl (whole process tree) at most ``CPU_RATIO_MAX`` times trafilatura CLI's;
- pages/s at least ``RATE_RATIO_MIN`` times trafilatura CLI's;
- peak RSS of the crawl's process tree at most ``RSS_MAX_MB``;
- flat with the site's size: from the smallest to the largest size, CPU per page and peak RSS grow by
  at most ``FLAT_TOLERANCE``. Only growth fails: a fall is the fixed start-up cost (interpreter, Scrapy,
  pool) spread over more pages, not a cost that depends on the crawl's length.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tests.benchmarks.throughput_table import Row, fmt

CPU_RATIO_MAX = 1.5
RATE_RATIO_MIN = 1.0
RSS_MAX_MB = 400.0
FLAT_TOLERANCE = 0.15


@dataclass(frozen=True)
class Check:
    """One acceptance line: ``ok`` is None when a figure is missing (a failed run), which counts as a failure."""

    name: str
    ok: bool | None
    detail: str

    @property
    def status(self) -> str:
        """PASS, FAIL or "n/a" (not measured)."""
        return "n/a" if self.ok is None else ("PASS" if self.ok else "FAIL")


def _quotient(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def acceptance(crawl: Row, cli: Row) -> list[Check]:
    """The three per-run acceptance lines of issue 12 for one crawl measured against one trafilatura CLI run."""
    cpu = _quotient(crawl.cpu_ms, cli.cpu_ms)
    rate = _quotient(crawl.rate, cli.rate)
    rss = crawl.rss_mb
    return [
        Check("CPU per page", None if cpu is None else cpu <= CPU_RATIO_MAX,
              f"autonews {fmt(crawl.cpu_ms, '.1f')} ms / trafilatura CLI {fmt(cli.cpu_ms, '.1f')} ms = "
              f"{fmt(cpu, '.2f', 'x')} (limit <= {CPU_RATIO_MAX}x)"),
        Check("pages/s", None if rate is None else rate >= RATE_RATIO_MIN,
              f"autonews {fmt(crawl.rate, '.1f')} / trafilatura CLI {fmt(cli.rate, '.1f')} = "
              f"{fmt(rate, '.2f', 'x')} (limit >= {RATE_RATIO_MIN}x)"),
        Check("peak RSS of the crawl's tree", None if rss is None else rss <= RSS_MAX_MB,
              f"{fmt(rss, '.0f')} MB (limit <= {RSS_MAX_MB:.0f} MB; trafilatura CLI {fmt(cli.rss_mb, '.0f')} MB)"),
    ]


def growth(first: float | None, last: float | None) -> float | None:
    """Relative change from ``first`` to ``last`` (0.10 is +10%), or None when either is missing."""
    return last / first - 1 if first and last is not None else None


def flatness(sizes: Sequence[tuple[int, Row]]) -> list[Check]:
    """Whether the crawl's CPU per page and peak RSS stay flat from the smallest to the largest size.

    ``sizes`` holds ``(pages, crawl row)``; the order does not matter.
    """
    ordered = sorted(sizes, key=lambda s: s[0])
    (small, first), (large, last) = ordered[0], ordered[-1]
    checks = []
    for name, attr, unit, spec in (("CPU per page", "cpu_ms", "ms", ".1f"), ("peak RSS", "rss_mb", "MB", ".0f")):
        a, b = getattr(first, attr), getattr(last, attr)
        change = growth(a, b)
        percent = None if change is None else 100 * change
        checks.append(Check(f"{name} flat {small} -> {large} pages",
                            None if change is None else change <= FLAT_TOLERANCE,
                            f"{fmt(a, spec)} -> {fmt(b, spec)} {unit} ({fmt(percent, '+.1f')}%, "
                            f"limit +{100 * FLAT_TOLERANCE:.0f}%)"))
    return checks


def verdict_lines(title: str, checks: Sequence[Check]) -> list[str]:
    """A verdict block: a title line, then one ``STATUS  name: figures`` line per check."""
    width = max(len(c.name) for c in checks)
    return [title, *(f"  {c.status:<4}  {c.name:<{width}}  {c.detail}" for c in checks)]


def all_pass(checks: Sequence[Check]) -> bool:
    """True when every check passed (a missing figure is not a pass)."""
    return all(c.ok for c in checks)
