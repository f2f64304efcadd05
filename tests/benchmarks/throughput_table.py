"""Rows, ratios, medians and the Markdown tables of the throughput benchmark."""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

MB = 1024 * 1024


@dataclass
class Row:
    """One line of the results table: a run's pages, wall time, tree peak RSS and tree CPU seconds."""

    name: str
    pages: int | None = None
    seconds: float | None = None
    peak_rss: int | None = None
    cpu: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        """Pages per second, when measured."""
        return self.pages / self.seconds if self.pages and self.seconds else None

    @property
    def cpu_ms(self) -> float | None:
        """CPU milliseconds per page, when measured."""
        return 1000 * self.cpu / self.pages if self.pages and self.cpu is not None else None

    @property
    def rss_mb(self) -> float | None:
        """Peak RSS in MB, when measured."""
        return self.peak_rss / MB if self.peak_rss else None


@dataclass(frozen=True)
class Ratio:
    """A row of quotients ``num / den`` column by column (e.g. autonews / trafilatura CLI)."""

    name: str
    num: Row
    den: Row

    def of(self, attr: str) -> float | None:
        """``getattr(num, attr) / getattr(den, attr)``, or None when either is missing or zero."""
        a, b = getattr(self.num, attr), getattr(self.den, attr)
        return a / b if a is not None and b else None


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    """Format a figure, or a dash when it was not measured."""
    return "-" if value is None else format(value, spec) + suffix


def median_row(runs: Sequence[Row]) -> Row:
    """One row from repeated runs: the median of each figure taken on its own.

    Name, note and diagnostics (``extra``) are those of the run with the median wall time, so
    the diagnostic lines describe a run that really happened. Failed runs (no rate) are left out;
    when every run failed the first one is returned, with its failure note.
    """
    good = [r for r in runs if r.rate]
    if not good:
        return runs[0]
    by_time = sorted(good, key=lambda r: r.seconds or 0.0)
    middle = by_time[(len(by_time) - 1) // 2]
    if len(good) == 1:
        return middle

    def med(attr: str) -> float | None:
        values = [getattr(r, attr) for r in good if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    peak = med("peak_rss")
    note = f"{middle.note}; median of {len(good)} runs" if middle.note else f"median of {len(good)} runs"
    return replace(middle, seconds=med("seconds"), cpu=med("cpu"), peak_rss=int(peak) if peak else None, note=note)


def table(rows: Sequence[Row | Ratio]) -> str:
    """The results as a Markdown table; a ``Ratio`` shows the quotient of two rows in each column."""
    lines = ["| run | pages | wall s | pages/s | CPU ms/page (tree) | peak RSS MB (tree) | CPU s (tree) | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        if isinstance(row, Ratio):
            lines.append(f"| **{row.name}** | - | {fmt(row.of('seconds'), '.2f', 'x')} | "
                         f"{fmt(row.of('rate'), '.2f', 'x')} | {fmt(row.of('cpu_ms'), '.2f', 'x')} | "
                         f"{fmt(row.of('rss_mb'), '.2f', 'x')} | {fmt(row.of('cpu'), '.2f', 'x')} | |")
            continue
        lines.append(f"| {row.name} | {row.pages or '-'} | {fmt(row.seconds, '.1f')} | {fmt(row.rate, '.1f')} | "
                     f"{fmt(row.cpu_ms, '.1f')} | {fmt(row.rss_mb, '.0f')} | {fmt(row.cpu, '.1f')} | {row.note} |")
    return "\n".join(lines)


def scale_table(sizes: Sequence[tuple[int, Row, Row]]) -> str:
    """Per site size: autonews's CPU ms/page, pages/s and peak RSS, next to trafilatura CLI's and the ratios.

    ``sizes`` holds ``(pages, crawl row, CLI row)``.
    """
    lines = ["| pages | autonews CPU ms/page | autonews pages/s | autonews peak RSS MB | CLI CPU ms/page | "
             "CLI pages/s | CPU/page ratio | pages/s ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for pages, crawl, cli in sizes:
        ratio = Ratio("", crawl, cli)
        cells = [str(pages), fmt(crawl.cpu_ms, ".1f"), fmt(crawl.rate, ".1f"), fmt(crawl.rss_mb, ".0f"),
                 fmt(cli.cpu_ms, ".1f"), fmt(cli.rate, ".1f"), fmt(ratio.of("cpu_ms"), ".2f", "x"),
                 fmt(ratio.of("rate"), ".2f", "x")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
