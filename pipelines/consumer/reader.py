"""The consumer API: the sealed files after a consumer's position, one batch per file, in manifest order.

::

    from pipelines.consumer.reader import Consumer

    consumer = Consumer("output", "my-extractor")
    for batch in consumer.batches():          # one per sealed file not acknowledged yet
        handle(batch.records)                 # a list of record dicts; batch.entry is its manifest line
        consumer.ack(batch)                   # commit: the next run starts after this file

Only sealed files listed in the manifest are read, so this is safe while crawls run. Every file is
checked against its manifest line (size, sha256, number of records) before it is delivered.
Delivery is at least once: a batch that was not acknowledged comes again. A record's
``canonical_url`` + ``version`` (or ``fingerprint``) identify it, so a consumer can drop a repeat.
One process at a time per consumer name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.consumer.cursor import Cursor, check_name, load_cursor, save_cursor
from pipelines.storage.manifest import ARTICLES, ManifestEntry, ManifestError, read_manifest, resolve_entry_file


@dataclass(frozen=True, slots=True)
class Batch:
    """The records of one sealed file, with the manifest line that lists it."""

    entry: ManifestEntry
    records: list[dict[str, Any]]

    @property
    def seq(self) -> int:
        """The file's position in the manifest: what acknowledging it commits."""
        return self.entry.seq


def read_entry(root: Path, entry: ManifestEntry) -> list[dict[str, Any]]:
    """The records of the file ``entry`` lists, after checking size, sha256 and record count against it."""
    path = resolve_entry_file(root, entry.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read {entry.file} (manifest seq {entry.seq}): {exc.strerror or exc}") from None
    if len(data) != entry.bytes or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise ManifestError(f"{entry.file} does not match its manifest line (seq {entry.seq}): changed after sealing")
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise ManifestError(f"{entry.file}: a line is not a JSON object")
        records.append(record)
    if len(records) != entry.records:
        raise ManifestError(f"{entry.file}: {len(records)} records, the manifest says {entry.records}")
    return records


class Consumer:
    """One named consumer of an output directory (cursor in ``<output>/consumers/<name>.json``)."""

    def __init__(self, output: str | Path, name: str) -> None:
        """``name``: ``[A-Za-z0-9._-]+`` (CursorError otherwise)."""
        self.root = Path(output)
        self.name = check_name(name)

    @property
    def cursor(self) -> Cursor:
        """The consumer's committed and pending positions, as stored now."""
        return load_cursor(self.root, self.name)

    def entries(self) -> list[ManifestEntry]:
        """The manifest lines after the committed position, in order."""
        committed = self.cursor.committed
        return [entry for entry in read_manifest(self.root) if entry.seq > committed and entry.kind == ARTICLES]

    def batches(self) -> Iterator[Batch]:
        """Each sealed file after the committed position as a batch, in manifest order (read lazily)."""
        for entry in self.entries():
            yield Batch(entry, read_entry(self.root, entry))

    def ack(self, batch: Batch | int) -> None:
        """Commit everything up to and including ``batch`` (or a manifest ``seq``); acknowledge in order."""
        seq = batch.seq if isinstance(batch, Batch) else int(batch)
        current = self.cursor
        if seq > current.committed:
            save_cursor(self.root, self.name, Cursor(seq, max(seq, current.pending)))

    def mark_pending(self, seq: int) -> None:
        """Remember ``seq`` as delivered but not acknowledged (what :meth:`ack_pending` will commit)."""
        current = self.cursor
        save_cursor(self.root, self.name, Cursor(current.committed, max(current.committed, seq)))

    def ack_pending(self) -> tuple[int, int]:
        """Commit the pending position; return ``(previous committed, committed now)``."""
        current = self.cursor
        if current.pending > current.committed:
            save_cursor(self.root, self.name, Cursor(current.pending, current.pending))
        return current.committed, max(current.committed, current.pending)
