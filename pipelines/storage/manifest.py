"""The manifest of sealed files, ``<output>/manifest.jsonl``: the contract downstream readers follow.

One line per sealed file, in the order files are published::

    {"seq": 1, "file": "articles/2026-11-21/<run id>-00001.jsonl", "records": 500, "bytes": 1843210,
     "sha256": "...", "run_id": "...", "sealed_at": "2026-11-21T10:05:00+00:00", "schema_version": 2}

Rules, and why:

- A line is appended (and fsynced) only after its file is published, so a line never names a
  missing file. A crash between the two leaves a published file without a line: the next run
  repairs that (:func:`repair`), so every sealed file is listed exactly once.
- Every append happens under an ``flock`` on the manifest itself, and re-reads what other
  writers appended meanwhile: distributed workers may share one output directory, and a repair
  in one process may list a file another process has just published (it then skips it).
- ``seq`` grows by one per line in file order, so a reader's position is one number, and a line
  with a lower ``seq`` never appears after a reader has passed it.
- A torn last line (a writer killed mid-append) is cut by the next writer, under the lock;
  readers ignore an incomplete last line.
- A garbled complete line (not JSON, not an object, a field missing or of the wrong type) is set
  aside, not obeyed: readers and writers skip it with a warning and count it
  (:attr:`ManifestScan.skipped`, :attr:`Manifest.skipped`); one bad line never stops a crawl or a
  read. The file it listed, if any, is listed again by the next crawl's :meth:`Manifest.repair`
  (under a new ``seq``: nothing is lost, a consumer that had passed it reads it once more).
- The output directory is not trusted input: :func:`read_manifest` refuses a line whose
  ``file`` is absolute or resolves outside the output directory, and the manifest is never
  opened through a symbolic link.
- ``kind``: a line without it lists article records (``*.jsonl``); ``"kind": "warc"`` lists a
  WARC file of the crawl's archive (``AUTONEWS_WARC_ARCHIVE``, ``pipelines.storage.warcarchive``;
  ``records`` counts its WARC records). Readers of articles skip other kinds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pipelines.storage.naming import SEALED_GLOB, WARC_SEALED_GLOB, file_run_id
from pipelines.storage.safefs import NotRegularFile, open_existing
from pipelines.storage.sealed import fsync_dir

logger = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
"""The manifest's file name under the output directory."""
_FIELDS = ("seq", "file", "records", "bytes", "sha256", "run_id", "sealed_at", "schema_version")
ARTICLES = "articles"
"""The kind of a sealed JSON Lines file of records (written without a ``kind`` field)."""
WARC = "warc"
"""The kind of a sealed WARC file of the crawl's archive."""
SUFFIXES = {ARTICLES: ".jsonl", WARC: ".warc.gz"}
"""What a listed file's name ends with, per kind."""


class ManifestError(ValueError):
    """A manifest line is malformed, names a path outside the output directory, or does not match its file."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One sealed file as the manifest lists it."""

    seq: int
    file: str
    """Path relative to the output directory, with ``/`` separators."""
    records: int
    bytes: int
    sha256: str
    run_id: str
    sealed_at: str
    schema_version: int
    kind: str = ARTICLES
    """``articles`` (records, no ``kind`` field in the line) or ``warc`` (the crawl's WARC archive)."""

    def to_line(self) -> bytes:
        """The entry as one manifest line (with its newline)."""
        data = asdict(self)
        if self.kind == ARTICLES:
            del data["kind"]
        return (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8")


def manifest_path(root: Path) -> Path:
    """Where the manifest of the output directory ``root`` lives."""
    return Path(root) / MANIFEST


def relative_name(root: Path, path: Path) -> str:
    """``path`` relative to ``root``, ``/``-separated (the manifest's ``file``)."""
    return Path(path).relative_to(root).as_posix()


def resolve_entry_file(root: Path, name: str, kind: str = ARTICLES) -> Path:
    """The file a manifest line names, refusing absolute paths, ``..``, anything resolving outside ``root``
    and a name that does not end as its kind's files do."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name or name.startswith("~"):
        raise ManifestError(f"manifest names a file outside the output directory: {name!r}")
    base = Path(root).resolve()
    target = (base / pure).resolve()  # resolve() also follows symlinks: a link pointing out is refused too
    if not target.is_relative_to(base) or not target.name.endswith(SUFFIXES.get(kind, "\0")):
        raise ManifestError(f"manifest names a file outside the output directory: {name!r}")
    return target


def parse_line(line: bytes) -> ManifestEntry:
    """One manifest line as an entry; ManifestError when a field is missing or of the wrong type."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ManifestError(f"manifest line is not JSON: {exc}") from None
    except RecursionError:  # a line of 100,000 nested brackets: garbled, not fatal
        raise ManifestError("manifest line is nested too deep") from None
    if not isinstance(data, dict):
        raise ManifestError("manifest line is not an object")
    ints = ("seq", "records", "bytes", "schema_version")
    for name in _FIELDS:
        value = data.get(name)
        wanted = int if name in ints else str
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise ManifestError(f"manifest line has no valid {name!r}: {data!r}")
    kind = data.get("kind", ARTICLES)
    if kind not in SUFFIXES:
        raise ManifestError(f"manifest line has an unknown kind: {kind!r}")
    return ManifestEntry(**{name: data[name] for name in _FIELDS}, kind=kind)


@dataclass
class ManifestScan:
    """The parsed complete lines of a manifest, and why each garbled one was skipped."""

    entries: list[ManifestEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One reason per skipped line (``byte N: ...``), in file order."""

    def take(self, data: bytes, start: int = 0) -> int:
        """Parse the complete lines of ``data`` (read from byte ``start`` of the manifest); return the
        length of the complete part (an incomplete last line is still being written)."""
        complete = data.rfind(b"\n") + 1
        offset = start
        for line in data[:complete].split(b"\n")[:-1]:
            if line.strip():
                try:
                    self.entries.append(parse_line(line))
                except ManifestError as exc:
                    self.skipped.append(f"byte {offset}: {exc}")
            offset += len(line) + 1
        return complete

    def warn(self, path: Path) -> None:
        """Log the skipped lines of ``path``: the first few with their reasons, then how many more."""
        for reason in self.skipped[:_WARN_LINES]:
            logger.warning("Skipping a garbled line of %s: %s", path, reason[:300])
        if len(self.skipped) > _WARN_LINES:
            logger.warning("Skipping %d more garbled line(s) of %s", len(self.skipped) - _WARN_LINES, path)


_WARN_LINES = 3
"""Garbled manifest lines logged one by one; the rest are counted (every reader would log them again)."""


def scan_manifest(root: Path) -> ManifestScan:
    """Every complete line of ``root``'s manifest (none when there is none), garbled lines skipped and warned
    about; paths are not checked (see :func:`read_manifest`)."""
    path = manifest_path(root)
    try:
        fd = open_existing(path, os.O_RDONLY)  # never through a link, never a FIFO
    except FileNotFoundError:
        return ManifestScan()
    except NotRegularFile as exc:
        raise ManifestError(f"{path}: {exc.strerror}") from None
    with open(fd, "rb") as fh:
        data = fh.read()
    scan = ManifestScan()
    scan.take(data)
    scan.warn(path)
    return scan


def read_manifest(root: Path) -> list[ManifestEntry]:
    """Every valid complete line of ``root``'s manifest (empty when there is none), paths checked.

    Garbled lines are skipped with a warning (:func:`scan_manifest` counts them); a line naming a
    file outside the output directory raises ManifestError.
    """
    entries = scan_manifest(root).entries
    for entry in entries:
        resolve_entry_file(root, entry.file, entry.kind)
    return entries


_MAX_FIRST_LINE = 64 << 20
"""Bytes of a sealed file's first line read for its ``schema_version`` at most (a longer one: not known)."""


def describe(path: Path) -> tuple[int, int, str, int | None]:
    """Records, bytes, sha256 and the first record's ``schema_version`` of a sealed file."""
    digest = hashlib.sha256()
    records = size = 0
    with open(path, "rb") as fh:
        first = fh.readline(_MAX_FIRST_LINE)  # whole, however many reads it spans; bounded (untrusted directory)
        fh.seek(0)
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            records += chunk.count(b"\n")
    schema: int | None = None
    if first.strip():
        try:
            value = json.loads(first).get("schema_version")
            schema = value if isinstance(value, int) else None
        except (ValueError, AttributeError, RecursionError):  # not a record: garbled or planted (nested without end)
            schema = None
    return records, size, digest.hexdigest(), schema


class Manifest:
    """Appends lines to one output directory's manifest, safely shared with other processes.

    The lines already read are cached (with the byte offset they end at), so each append
    only reads what other writers added since.
    """

    def __init__(self, root: Path, schema_version: int) -> None:
        """``schema_version``: written for a file whose first record does not say."""
        self.root = Path(root)
        self.path = manifest_path(self.root)
        self.schema_version = schema_version
        self._offset = 0
        self._listed: set[str] = set()
        self._last_seq = 0
        self.skipped = 0
        """Garbled lines skipped so far (counted once each)."""

    def _open(self) -> BinaryIO:
        """The manifest for appending and reading; a symlink (or a FIFO...) in its place is refused
        (untrusted directory) with NotRegularFile, an OSError."""
        return os.fdopen(open_existing(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT), "a+b")

    def _catch_up(self, fh: BinaryIO) -> None:
        """Read lines appended since the last call; cut a torn last line (the lock is held)."""
        size = os.fstat(fh.fileno()).st_size
        if size < self._offset:  # replaced behind our back: start over
            self._offset, self._listed, self._last_seq, self.skipped = 0, set(), 0, 0
        fh.seek(self._offset)
        data = fh.read()
        scan = ManifestScan()
        complete = scan.take(data, self._offset)
        if complete < len(data):  # a writer died mid-line: nobody else writes while we hold the lock
            os.ftruncate(fh.fileno(), self._offset + complete)
            os.fsync(fh.fileno())
        for entry in scan.entries:
            self._listed.add(entry.file)
            self._last_seq = max(self._last_seq, entry.seq)
        scan.warn(self.path)  # garbled lines are set aside: appending goes on after them
        self.skipped += len(scan.skipped)
        self._offset += complete

    def append(self, paths: Iterable[Path], sealed_at: str | None = None, kind: str = ARTICLES,
               records: int | None = None) -> list[ManifestEntry]:
        """List the published files ``paths`` (those not listed yet), in order; fsync; return the new entries.

        ``kind``: what the files are; ``records``: their record count when it is not their line count
        (a WARC file's records).
        """
        paths = list(paths)
        if not paths:
            return []
        new_file = not self.path.exists()
        with self._open() as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when the file is closed, or the process dies
            self._catch_up(fh)
            added = []
            for path in paths:
                name = relative_name(self.root, path)
                if name in self._listed or not path.exists():
                    continue
                if kind == ARTICLES:
                    count, size, sha, schema = describe(path)
                else:
                    size, sha = file_digest(path)
                    count, schema = records if records is not None else count_warc_records(path), None
                stamp = sealed_at or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
                entry = ManifestEntry(self._last_seq + 1, name, count, size, sha, file_run_id(path), stamp,
                                      schema if schema is not None else self.schema_version, kind)
                line = entry.to_line()
                fh.write(line)
                fh.flush()
                self._offset += len(line)
                self._listed.add(name)
                self._last_seq = entry.seq
                added.append(entry)
            if added:
                os.fsync(fh.fileno())
        if new_file:
            fsync_dir(self.root)
        return added

    def repair(self) -> list[ManifestEntry]:
        """List every sealed file the manifest misses (a crash between publish and append; older output)."""
        with self._open() as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            self._catch_up(fh)
            missing = [(p, ARTICLES) for p in sealed_files(self.root) if relative_name(self.root, p) not in self._listed]
            missing += [(p, WARC) for p in sealed_warc_files(self.root) if relative_name(self.root, p) not in self._listed]
        added = []
        for path, kind in missing:  # one at a time: each gets the time it was last written as sealed_at
            stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).replace(microsecond=0).isoformat()
            added += self.append([path], sealed_at=stamp, kind=kind)
        return added


def file_digest(path: Path) -> tuple[int, str]:
    """Bytes and sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def count_warc_records(path: Path) -> int:
    """The records of a sealed WARC file (for one a crash left unlisted)."""
    from fastwarc.warc import ArchiveIterator  # only a repair needs it

    with open(path, "rb") as fh:
        try:
            return sum(1 for _ in ArchiveIterator(fh, parse_http=False, fsspec_args=False))
        except OSError:
            return 0


def sealed_warc_files(root: Path) -> Iterator[Path]:
    """Every sealed WARC file of the crawl's archive under ``root``, oldest name first."""
    return iter(sorted(Path(root).glob(WARC_SEALED_GLOB), key=lambda p: (p.name, p.as_posix())))


def sealed_files(root: Path) -> Iterator[Path]:
    """Every published ``*.jsonl`` under ``root``, oldest name first (names start with the run's UTC time)."""
    return iter(sorted(Path(root).glob(SEALED_GLOB), key=lambda p: (p.name, p.as_posix())))

