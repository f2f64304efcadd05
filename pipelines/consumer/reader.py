"""The consumer API: the sealed files after a consumer's position, one batch per file, in manifest order.

::

    from pipelines.consumer import Consumer

    with Consumer("output", "my-extractor") as consumer:   # one process per name (else ConsumerBusy)
        for batch in consumer.batches():      # one per sealed file not acknowledged yet
            handle(batch.records)             # a list of record dicts
            consumer.ack(batch)               # commit through batch.seq: the next run starts after it

Only sealed files listed in the manifest are read, so this is safe while crawls run. Every file is
checked against its manifest line (kind, size, sha256, number of records) before it is delivered.
Delivery is at least once: a batch that was not acknowledged comes again. A record's
``canonical_url`` + ``version`` (or ``fingerprint``) identify it, so a consumer can drop a repeat.

An acknowledgement names what it commits (a batch, or a manifest ``seq``): never "whatever the
last read delivered", which another reader of the same name may have moved on meanwhile (issue 21).

Bad input is set aside, not obeyed: a garbled manifest line, or a file that fails a check (a
directory, a FIFO, a link out of the output directory, a NUL in its name, larger than
``max_file_bytes``, changed after sealing, nested too deep), is skipped with a warning (logger
``pipelines.consumer``) and listed in :attr:`Consumer.skipped`; the files after it are delivered.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipelines.consumer.cursor import (Cursor, CursorError, check_name, clean_cursor_temps, load_cursor,
                                       lock_path, save_cursor)
from pipelines.consumer.files import FileRefused, WrongSize, read_regular
from pipelines.consumer.lock import ConsumerLock
from pipelines.storage.manifest import ManifestEntry, ManifestError, manifest_path, parse_line, resolve_entry_file

logger = logging.getLogger("pipelines.consumer")

MAX_FILE_BYTES = 1 << 30
"""Largest sealed file delivered (1 GiB): far above a real one (500 records of extracted text), far
below what would exhaust a reader; a larger manifest entry is refused before its file is opened."""
MAX_MANIFEST_BYTES = 1 << 30
"""Largest manifest read (about four million lines)."""


class EntryError(ManifestError):
    """One manifest entry cannot be delivered (its file fails a check); the others still can."""


class AckError(CursorError):
    """An acknowledgement names a ``seq`` that is not in the manifest (or is not a ``seq`` at all)."""


@dataclass(frozen=True, slots=True)
class Entry(ManifestEntry):
    """A manifest line as a consumer gets it: typed attributes (``entry.seq``), and read like the
    JSON line it is (``entry["seq"]``, ``entry.as_dict()``)."""

    def as_dict(self) -> dict[str, Any]:
        """The line's fields as a dict (the manifest line's JSON object)."""
        return asdict(self)

    def __getitem__(self, field: str) -> Any:
        """``entry["file"]``: the manifest line's field (KeyError for a name it does not have)."""
        if field not in self.__dataclass_fields__:
            raise KeyError(field)
        return getattr(self, field)

    @classmethod
    def of(cls, entry: ManifestEntry) -> Entry:
        """The consumer's view of a parsed manifest line."""
        return cls(**asdict(entry))


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one sealed file, with the manifest line that lists it."""

    entry: Entry
    records: list[dict[str, Any]]

    @property
    def seq(self) -> int:
        """The file's position in the manifest: what acknowledging it commits."""
        return self.entry.seq


@dataclass(frozen=True, slots=True)
class Skipped:
    """A manifest line or file that was set aside: its ``seq`` and ``file`` (None for a garbled line), and why."""

    seq: int | None
    file: str | None
    reason: str


def scan_manifest_lines(root: Path) -> tuple[list[ManifestEntry], list[tuple[int, str]]]:
    """The manifest's valid complete lines, and for each garbled one the ``seq`` of the valid line
    before it (0 at the top) with the reason. The manifest must be a regular file (ManifestError)."""
    path = manifest_path(root)
    try:
        data = read_regular(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return [], []
    except (FileRefused, OSError) as exc:
        raise ManifestError(f"{path} {exc}: cannot read the manifest") from None
    entries: list[ManifestEntry] = []
    garbled: list[tuple[int, str]] = []
    number = 0
    for line in data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]:  # an incomplete last line is still being written
        number += 1
        if not line.strip():
            continue
        try:
            entry = parse_line(line)
        except ManifestError as exc:
            garbled.append((entries[-1].seq if entries else 0, f"manifest line {number}: {str(exc)[:200]}"))
            continue
        entries.append(entry)
    return entries, garbled


def entry_path(root: Path, entry: ManifestEntry) -> Path:
    """The file ``entry`` names, inside ``root`` (EntryError for a NUL, an escape, a name that is not ``*.jsonl``)."""
    if "\x00" in entry.file:
        raise EntryError(f"manifest seq {entry.seq} names a file with a NUL byte: {entry.file[:200]!r}")
    try:
        return resolve_entry_file(root, entry.file)
    except (ManifestError, ValueError, OSError) as exc:
        raise EntryError(f"manifest seq {entry.seq}: {str(exc)[:300]}") from None


def read_entry(root: Path, entry: ManifestEntry, max_file_bytes: int = MAX_FILE_BYTES) -> list[dict[str, Any]]:
    """The records of the file ``entry`` lists, after checking its kind, size, sha256 and record count.

    The file is not opened unless it is a regular file of exactly the manifest's size, at most
    ``max_file_bytes``; EntryError says which check failed.
    """
    where = f"{entry.file} (manifest seq {entry.seq})"
    if entry.bytes > max_file_bytes:
        raise EntryError(f"{where}: {entry.bytes} bytes, more than the {max_file_bytes} a reader accepts")
    path = entry_path(root, entry)
    try:
        data = read_regular(path, entry.bytes, exact=True)
    except WrongSize as exc:
        raise EntryError(f"{where} does not match its manifest line ({exc}): changed after sealing") from None
    except FileRefused as exc:
        raise EntryError(f"{where} {exc}") from None
    except OSError as exc:
        raise EntryError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(data) != entry.bytes or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise EntryError(f"{where} does not match its manifest line: changed after sealing")
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            raise EntryError(f"{where}: a line is not a JSON object (or is nested too deep)")
        records.append(record)
    if len(records) != entry.records:
        raise EntryError(f"{where}: {len(records)} records, the manifest says {entry.records}")
    return records


class Consumer:
    """One named consumer of an output directory (cursor in ``<output>/consumers/<name>.json``).

    ``with Consumer(...) as consumer:`` holds the consumer's lock for the block (ConsumerBusy when
    another process holds it); :meth:`batches` and :meth:`ack` also take it themselves for as long
    as they run when used outside such a block.
    """

    def __init__(self, output: str | Path, name: str, *, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        """``name``: ``[A-Za-z0-9._-]+`` (CursorError otherwise); ``max_file_bytes``: larger files are skipped."""
        self.root = Path(output)
        self.name = check_name(name)
        self.max_file_bytes = max_file_bytes
        self.skipped: list[Skipped] = []
        """What the reads of this object set aside, in order (each is also logged as a warning)."""
        self._lock = ConsumerLock(lock_path(self.root, self.name), f"consumer {self.name}")
        self._depth = 0

    def __enter__(self) -> Consumer:
        """Hold the consumer's lock until the block ends (ConsumerBusy when another process holds it)."""
        self._acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        """Release the lock taken by ``__enter__``."""
        self._release()

    def _acquire(self) -> None:
        """Take the lock (re-entrant within this object); clean temporary cursors of killed saves."""
        if self._depth == 0:
            lock_path(self.root, self.name).parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
            clean_cursor_temps(self.root)
        self._depth += 1

    def _release(self) -> None:
        """Undo one :meth:`_acquire`; the last one releases the lock."""
        self._depth -= 1
        if self._depth == 0:
            self._lock.release()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The lock for the duration of a ``with`` (re-entrant: a no-op inside ``with consumer``)."""
        self._acquire()
        try:
            yield
        finally:
            self._release()

    @property
    def cursor(self) -> Cursor:
        """The consumer's committed and pending positions, as stored now."""
        return load_cursor(self.root, self.name)

    def _skip(self, seq: int | None, file: str | None, reason: str) -> None:
        """Set an entry aside: remember it in :attr:`skipped` and log a warning."""
        self.skipped.append(Skipped(seq, file, reason))
        logger.warning("skipped %s", reason)

    def entries(self) -> list[Entry]:
        """The valid manifest lines after the committed position, in order; a garbled line there is skipped."""
        committed = self.cursor.committed
        entries, garbled = scan_manifest_lines(self.root)
        for before, reason in garbled:
            if before >= committed:  # one this consumer has passed is not its concern any more
                self._skip(None, None, f"{reason} (garbled, set aside)")
        return [Entry.of(entry) for entry in entries if entry.seq > committed]

    def last_seq(self) -> int:
        """The highest ``seq`` in the manifest (0 when it is empty or missing)."""
        return max((entry.seq for entry in scan_manifest_lines(self.root)[0]), default=0)

    def read(self, entry: ManifestEntry) -> Batch:
        """The batch of one manifest entry (EntryError when its file fails a check)."""
        return Batch(entry if isinstance(entry, Entry) else Entry.of(entry),
                     read_entry(self.root, entry, self.max_file_bytes))

    def batches(self) -> Iterator[Batch]:
        """Each sealed file after the committed position as a batch, in manifest order (read lazily).

        An entry whose file fails a check is skipped (see :attr:`skipped`); the lock is held until
        the iteration ends.
        """
        with self._locked():
            for entry in self.entries():
                try:
                    batch = self.read(entry)
                except EntryError as exc:
                    self._skip(entry.seq, entry.file, str(exc))
                    continue
                yield batch

    def ack(self, batch: Batch | int) -> int:
        """Commit everything up to and including ``batch`` (or a manifest ``seq``); return the committed seq.

        Acknowledging a position already committed changes nothing; a ``seq`` beyond the last
        line of the manifest raises AckError (it names nothing that was read).
        """
        if isinstance(batch, Batch):
            seq = batch.seq
        elif isinstance(batch, int) and not isinstance(batch, bool) and batch >= 0:
            seq = batch
        else:
            raise AckError(f"not a manifest seq: {batch!r}")
        with self._locked():
            current = self.cursor
            if seq <= current.committed:
                return current.committed
            if not isinstance(batch, Batch):
                last = self.last_seq()
                if seq > last:
                    raise AckError(f"manifest seq {seq} does not exist (the manifest ends at seq {last}); "
                                   "acknowledge the seq that the read named")
            save_cursor(self.root, self.name, Cursor(seq, max(seq, current.pending)))
        return seq

    def mark_pending(self, seq: int) -> None:
        """Record that a read delivered through ``seq`` (``pending``; informational: nothing commits it implicitly)."""
        with self._locked():
            current = self.cursor
            if seq != current.pending:
                save_cursor(self.root, self.name, Cursor(current.committed, max(current.committed, seq)))
