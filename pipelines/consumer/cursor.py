"""A consumer's position in the manifest, ``<output>/consumers/<NAME>.json``, written atomically.

Two positions, both manifest ``seq`` numbers: ``committed`` (everything up to it was acknowledged)
and ``pending`` (how far the last read delivered; shown to the operator, never committed by
itself: an acknowledgement names the ``seq`` it commits). A read always starts after
``committed``, so what was delivered but not acknowledged is delivered again: at least once.

The file is replaced by a rename of a fresh temporary file (:func:`pipelines.storage.safefs.atomic_write`:
``O_EXCL | O_NOFOLLOW``, fsync, rename), so a crash leaves the old cursor or the new one, never
half of one, and a link planted at the cursor's or a temporary name is never written through;
temporary files of killed saves are removed by the next reader. Names are checked
(``[A-Za-z0-9._-]+``) before they become a path, and the file is read only when it is a small
regular file (not a link, FIFO or directory) whose content is a valid cursor: the output
directory is not trusted input.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.consumer.files import FileRefused, read_regular
from pipelines.storage.safefs import _pid_alive, atomic_write, clean_stale_temps

CONSUMERS_DIR = "consumers"
"""Directory of the cursors under the output directory."""
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
MAX_CURSOR_BYTES = 64 * 1024
"""A cursor is about 120 bytes; anything much larger is not one (and is not read)."""
_LEGACY_TEMP = re.compile(r"^\.[A-Za-z0-9._-]{1,128}\.json\.(?P<pid>\d{1,10})\.tmp$")
"""Temporary cursor names of versions before safefs (``.NAME.json.PID.tmp``)."""


class CursorError(ValueError):
    """A consumer name is invalid, or its cursor file is malformed."""


class CursorFileError(CursorError):
    """The cursor file cannot be used: not a regular file, too large, unreadable or not a cursor."""


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


def consumers_dir(root: Path) -> Path:
    """``<root>/consumers``; refused (CursorError) when it leads out of ``root`` (a symlink): cursors are written there."""
    path = Path(root) / CONSUMERS_DIR
    if path.exists() and not path.resolve().is_relative_to(Path(root).resolve()):
        raise CursorError(f"{path} leads outside the output directory")
    return path


def cursor_path(root: Path, name: str) -> Path:
    """The cursor file of consumer ``name`` under the output directory ``root``."""
    return consumers_dir(root) / f"{check_name(name)}.json"


def lock_path(root: Path, name: str) -> Path:
    """The lock file of consumer ``name`` (one reader at a time: :mod:`pipelines.consumer.lock`)."""
    return consumers_dir(root) / f"{check_name(name)}.lock"


def load_cursor(root: Path, name: str) -> Cursor:
    """The consumer's cursor; a consumer never seen before starts at 0 (the beginning)."""
    path = cursor_path(root, name)
    try:
        data = read_regular(path, MAX_CURSOR_BYTES)
    except FileNotFoundError:
        return Cursor()
    except FileRefused as exc:
        raise CursorFileError(f"{path} {exc}: not used (remove it to start this consumer over from "
                              "the beginning)") from None
    except OSError as exc:
        raise CursorFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CursorFileError(f"{path}: not a cursor ({str(exc)[:200]})") from None
    committed = data.get("committed") if isinstance(data, dict) else None
    pending = data.get("pending") if isinstance(data, dict) else None
    for value in (committed, pending):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CursorFileError(f"{path}: not a cursor (committed and pending must be non-negative integers)")
    return Cursor(committed, max(committed, pending))


def save_cursor(root: Path, name: str, cursor: Cursor) -> None:
    """Write the consumer's cursor atomically, never through a link (see the module's docstring)."""
    path = cursor_path(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"consumer": name, "committed": cursor.committed, "pending": cursor.pending,
            "updated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}
    atomic_write(path, json.dumps(body) + "\n")


def clean_cursor_temps(root: Path) -> int:
    """Remove the temporary cursor files that killed saves left (their process is gone); return how many."""
    directory = consumers_dir(root)
    removed = clean_stale_temps(directory)
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _LEGACY_TEMP.match(name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        try:
            os.unlink(directory / name)  # a link is removed as a link
            removed += 1
        except OSError:
            pass
    return removed
