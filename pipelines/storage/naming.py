"""Output file names, made and parsed in one place.

``<output>/<route dir>/<YYYY-MM-DD>/<run id>-<n>.jsonl`` where the run id is
``<UTC time>-<worker>-<pid>`` (worker: ``AUTONEWS_WORKER_ID``, else the host name), so file
names sort by time, never collide between processes, and a distributed worker's unsealed
``.part`` names the instance (``<worker>-<pid>``) that wrote it.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timezone
from pathlib import Path

ROUTE_DIRS = {"": "articles", "non-english": "articles-non-english"}
"""Directory under the output root per article route."""
PART_GLOB = "articles*/*/*.part"
SEALED_GLOB = "articles*/*/*.jsonl"
WARC_DIR = "warc"
"""The crawl's WARC archive: ``<output>/warc/<YYYY-MM-DD>/<run id>-<n>.warc.gz`` (``AUTONEWS_WARC_ARCHIVE``)."""
WARC_PART_GLOB = "warc/*/*.warc.gz.part"
WARC_SEALED_GLOB = "warc/*/*.warc.gz"


#: What a name that becomes part of a file name may be made of (worker id, run id, instance).
NAME_RE = re.compile(r"[A-Za-z0-9._-]+")


def check_name(what: str, name: str) -> str:
    """Return ``name`` if it is safe as part of a file name; raise ValueError naming ``what`` otherwise.

    Letters, digits, ``.``, ``_`` and ``-`` only, and not ``.`` or ``..``: a name from the
    command line or a setting must never lead a file outside the output directory.
    """
    if not NAME_RE.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"{what} {name!r} may only hold letters, digits, '.', '_' and '-'")
    return name


def instance_name(worker: str = "") -> str:
    """``<worker>-<pid>``: names this process among every writer of an output directory."""
    worker = worker or socket.gethostname()
    # Checked here too, not only by the command line: `scrapy crawl -s AUTONEWS_WORKER_ID=...` skips it.
    return f"{check_name('worker id', worker)}-{os.getpid()}"


def run_id(worker: str = "") -> str:
    """A unique, sortable id for this run: ``<UTC time>-<worker>-<pid>``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{instance_name(worker)}"


def day_dir(root: Path, route: str, day: str) -> Path:
    """The directory of one route's files for one day."""
    return root / ROUTE_DIRS.get(route, ROUTE_DIRS[""]) / day


def file_stem(run: str, seq: int) -> str:
    """The name (without suffix) of the ``seq``-th file of a run."""
    return f"{run}-{seq:05d}"


def file_run_id(path: Path) -> str:
    """The run id of ``<run id>-<n>.jsonl`` (or ``.part``, ``.warc.gz``): the run that wrote the file."""
    name = path.name
    for suffix in (".warc.gz.part", ".warc.gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)] + ".x"
    run, sep, _seq = name.rsplit(".", 1)[0].rpartition("-")
    return run if sep else ""


def part_instance(part: Path) -> str | None:
    """The instance (``<worker>-<pid>``) that wrote ``<time>-<worker>-<pid>-<n>.part``, or None."""
    stem = part.name[: -len(".part")]
    _stamp, sep, rest = stem.partition("-")
    instance, sep2, _seq = rest.rpartition("-")
    return instance if sep and sep2 and instance else None
