"""The check every command that opens the dedupe state makes first (``crawl``, and ``backfill``).

A corrupt or unreadable state stops the command with exit status 3 and a message that says how to
rebuild it, never a traceback half-way through a run, and never a silent fresh start. A missing
state while the output already holds sealed files is a warning (a first run into an empty output
stays silent). No Scrapy import: called behind the run lock, before Scrapy loads.
"""

from __future__ import annotations

from pathlib import Path

from crawler.cli.exitcodes import EXIT_STATE, eprint
from pipelines.state.readable import StateUnavailable, StateUnreadable, check_state, missing_message, unreadable_message
from pipelines.storage.manifest import ManifestError, read_manifest, sealed_files


def sealed_file_count(output: Path) -> int:
    """How many sealed files ``output`` holds (manifest lines, or the files themselves if it cannot be read)."""
    try:
        listed = len(read_manifest(output))
    except (ManifestError, OSError):
        listed = 0
    return listed or sum(1 for _ in sealed_files(output))


def check_state_or_exit(uri: str, output: str | Path | None, prefix: str | None = None) -> int | None:
    """None to go on (after a warning if the state is missing but the output is not empty), or
    ``EXIT_STATE`` (3) once the message for an unreadable state is printed.

    A Redis that cannot be reached is left to the command (it reports that itself, as before).
    """
    root = Path(output or "output")
    if uri == ":memory:":
        return None  # a state for this run only, on purpose
    try:
        exists = check_state(uri, prefix=prefix)
    except StateUnreadable as exc:
        eprint(f"autonews: error: {unreadable_message(uri, str(exc), root)}")
        return EXIT_STATE
    except StateUnavailable:
        return None
    if not exists:
        files = sealed_file_count(root)
        if files:
            eprint(f"autonews: warning: {missing_message(uri, root, files)}")
    return None
