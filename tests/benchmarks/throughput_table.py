"""Rows and the Markdown table of the throughput benchmark."""
from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class Row:
    """One line of the results table."""

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


def fmt(value: float | None, spec: str) -> str:
    """Format a figure, or a dash when it was not measured."""
    return "-" if value is None else format(value, spec)


def table(rows: list[Row], plain: Row) -> str:
    """The results as a Markdown table."""
    lines = ["| run | pages | wall s | pages/s | x plain loop | peak RSS MB | CPU s | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        ratio = row.rate / plain.rate if row.rate and plain.rate else None
        lines.append(f"| {row.name} | {row.pages or '-'} | {fmt(row.seconds, '.1f')} | {fmt(row.rate, '.1f')} | "
                     f"{fmt(ratio, '.2f')} | {fmt(row.peak_rss / MB if row.peak_rss else None, '.0f')} | "
                     f"{fmt(row.cpu, '.1f')} | {row.note} |")
    return "\n".join(lines)
