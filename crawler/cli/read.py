"""``autonews read --consumer NAME``: the records a consumer has not acknowledged yet, as JSON Lines.

Delivers every record of the sealed files after the consumer's committed position, in manifest
order, then remembers the last delivered file as *pending*; ``--ack`` commits it. Until then
another read delivers the same records again (at least once). No Scrapy import: reading is cheap
and safe while crawls run (only sealed, manifest-listed files are read).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_USAGE, eprint
from pipelines.consumer.cursor import CursorError
from pipelines.consumer.reader import Consumer
from pipelines.storage.manifest import ManifestError


def run(args: argparse.Namespace) -> int:
    """Print (or write to ``-o``) the consumer's unacknowledged records, or commit them with ``--ack``."""
    root = Path(args.output or "output")
    if not root.is_dir():
        eprint(f"autonews: error: no output directory at {root}")
        return EXIT_USAGE
    try:
        consumer = Consumer(root, args.consumer)
        if args.ack:
            before, now = consumer.ack_pending()
            if now == before:
                eprint(f"autonews: consumer {consumer.name}: nothing pending (committed up to manifest seq {now})")
            else:
                eprint(f"autonews: consumer {consumer.name}: committed up to manifest seq {now}")
            return 0
        return deliver(consumer, args.out)
    except CursorError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    except ManifestError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_FAILED


def deliver(consumer: Consumer, out: str | None) -> int:
    """Write the records after the committed position, then mark the last file delivered as pending."""
    files = records = last = 0
    # bytes, UTF-8 whatever the locale says (cron often runs with LANG=C)
    handle: BinaryIO = open(out, "wb") if out else sys.stdout.buffer
    try:
        for batch in consumer.batches():
            for record in batch.records:
                # the sealed files' own format, so a line read here equals the line in the file
                handle.write((json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
            files, records, last = files + 1, records + len(batch.records), batch.seq
        handle.flush()
        if out:
            os.fsync(handle.fileno())
    finally:
        if out:
            handle.close()
    if not files:
        eprint(f"autonews: consumer {consumer.name}: nothing new")
        return 0
    # only once everything is written out: a read that failed half-way marks nothing
    consumer.mark_pending(last)
    eprint(f"autonews: consumer {consumer.name}: {records} record(s) from {files} file(s), up to manifest seq {last}; "
           f"commit with: autonews read --consumer {consumer.name} --ack")
    return 0
