"""``autonews report``: one self-contained HTML file from the run reports (``crawler.reporting``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.exitcodes import EXIT_USAGE, eprint
from crawler.reporting.page import write_report


def run(args: argparse.Namespace) -> int:
    """Write the report of the last ``--days`` days to ``-o`` (default ``<output>/report.html``)."""
    output = Path(args.output or "output")
    if args.days < 1:
        eprint("autonews: error: --days must be at least 1")
        return EXIT_USAGE
    if not (output / "runs").is_dir():
        eprint(f"autonews: error: no run reports under {output / 'runs'} (crawl first, or give --output DIR)")
        return EXIT_USAGE
    target, skipped = write_report(output, Path(args.file) if args.file else output / "report.html", args.days)
    if skipped:
        eprint(f"autonews: skipped {skipped} unusable run report(s) (see the warnings above)")
    eprint(f"autonews: report written to {target}")
    return 0
