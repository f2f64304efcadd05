"""A consumer's position in the manifest, ``<output>/consumers/<NAME>.json``, written atomically.

Two positions, both manifest ``seq`` numbers: ``committed`` (everything up to it was acknowledged)
and ``pending`` (delivered by the last read, not acknowledged yet). A read always starts after
``committed``, so what was delivered but not acknowledged is delivered again: at least once.

The file is replaced by a rename after an fsync, so a crash leaves the old cursor or the new one,
never half of one. Names are checked (``[A-Za-z0-9._-]+``) before they become a path, and the
file's content is validated when read: the output directory is not trusted input.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CONSUMERS_DIR = "consumers"
"""Directory of the cursors under the output directory."""
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")


class CursorError(ValueError):
    """A consumer name is invalid, or its cursor file is malformed."""


def check_name(name: str) -> str:
    """Return ``name`` when it is a valid consumer name, else raise CursorError."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in (".", ".."):
        raise CursorError(f"invalid consumer name {name!r}: use 1-128 of A-Z a-z 0-9 . _ -")
    return name


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one consumer stands: ``committed`` and ``pending`` manifest ``seq`` numbers (0: nothing yet)."""

    committed: int = 0
    pending: int = 0


def cursor_path(root: Path, name: str) -> Path:
    """The cursor file of consumer ``name`` under the output directory ``root``.

    A ``consumers`` directory that leads out of ``root`` (a symlink) is refused: cursors are written there.
    """
    path = Path(root) / CONSUMERS_DIR / f"{check_name(name)}.json"
    if path.parent.exists() and not path.parent.resolve().is_relative_to(Path(root).resolve()):
        raise CursorError(f"{path.parent} leads outside the output directory")
    return path


def load_cursor(root: Path, name: str) -> Cursor:
    """The consumer's cursor; a consumer never seen before starts at 0 (the beginning)."""
    path = cursor_path(root, name)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Cursor()
    except ValueError as exc:
        raise CursorError(f"{path}: not a cursor ({exc})") from None
    committed = data.get("committed") if isinstance(data, dict) else None
    pending = data.get("pending") if isinstance(data, dict) else None
    for value in (committed, pending):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CursorError(f"{path}: not a cursor (committed and pending must be non-negative integers)")
    return Cursor(committed, max(committed, pending))


def save_cursor(root: Path, name: str, cursor: Cursor) -> None:
    """Write the consumer's cursor atomically (temporary file, fsync, rename, fsync of the directory)."""
    path = cursor_path(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"consumer": name, "committed": cursor.committed, "pending": cursor.pending,
            "updated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(body) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
