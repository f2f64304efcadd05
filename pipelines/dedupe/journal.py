"""The drop journal: which copies a crawl dropped, so a rebuilt state still knows their URLs.

A copy dropped as a duplicate is never written, yet the state records its URLs so it is not
fetched again. Those URLs are in no sealed file; without them a state rebuilt from the output
(``pipelines.state.rebuild``) would fetch every dropped copy once more. So each dropped copy
also gets one line in ``<output>/dropped/<run id>.ndjson`` (not ``.jsonl``: a reader globbing for
sealed files must never take it for one)::

    {"canonical_url": "...", "aliases": ["..."], "duplicate_of": "...", "kind": "near_duplicate"}

A page found not to be an article is journaled the same way (``"kind": "not_article"``, no
``duplicate_of``, ``seen_at`` the time it was found), so that a rebuilt state also keeps it from being
fetched again for ``AUTONEWS_NOT_ARTICLE_DAYS``.

These files are not listed in the manifest (they hold no article for consumers). A line only
ever makes the crawler *skip* URLs, never fetch one; malformed lines are ignored when read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.storage.safefs import create_new

JOURNAL_DIR = "dropped"
"""The journals' directory under the output directory."""
NOT_ARTICLE = "not_article"
"""``kind`` of a journaled page that was not an article."""
MAX_ALIASES = 16
"""Aliases kept per line when read back (a copy has its request, final and canonical URL)."""


@dataclass(frozen=True, slots=True)
class DroppedCopy:
    """One dropped copy: the URLs it was recorded under, and what it duplicated."""

    canonical_url: str
    aliases: tuple[str, ...]
    duplicate_of: str
    kind: str
    seen_at: str = ""
    """When it was found (ISO 8601, UTC); set on ``not_article`` lines."""


class DropJournal:
    """Appends the dropped copies of one run to ``<output>/dropped/<run id>.ndjson`` (created on the first)."""

    def __init__(self, root: Path, run_id: str) -> None:
        """Nothing is created until :meth:`record` is first called."""
        self.path = Path(root) / JOURNAL_DIR / f"{run_id}.ndjson"
        self._fd: int | None = None

    def record(self, copy: DroppedCopy) -> None:
        """Append one line (one ``write``: a line is never interleaved or half there but for a crash)."""
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = create_new(self.path, 0o644)  # never through a planted link
        line = json.dumps(asdict(copy), ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        """fsync and close the journal, if one was opened; safe to call twice."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None


def _parse(line: bytes) -> DroppedCopy | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    canonical, aliases = data.get("canonical_url"), data.get("aliases")
    if not isinstance(canonical, str) or not canonical.startswith(("http://", "https://")):
        return None
    if not isinstance(aliases, list):
        aliases = []
    kept = tuple(a for a in aliases[:MAX_ALIASES] if isinstance(a, str) and a.startswith(("http://", "https://")))
    return DroppedCopy(canonical, kept, str(data.get("duplicate_of") or ""), str(data.get("kind") or ""),
                       str(data.get("seen_at") or ""))


def read_journal(root: Path) -> Iterator[DroppedCopy]:
    """Every well-formed line of the journals under ``root``, oldest run first (a torn last line is skipped)."""
    directory = Path(root) / JOURNAL_DIR
    if not directory.is_dir() or directory.is_symlink():
        return
    for path in sorted(directory.glob("*.ndjson")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        for line in data[: data.rfind(b"\n") + 1].splitlines():
            copy = _parse(line)
            if copy is not None:
                yield copy
