"""``autonews read --consumer NAME``: the records a consumer has not acknowledged yet, as JSON Lines.

Delivers every record of the sealed files after the consumer's committed position, in manifest
order, and names on stderr the manifest ``seq`` it delivered through
(``commit with: autonews read --consumer NAME --ack SEQ``); ``--ack SEQ`` commits exactly through
that ``seq``. Until then another read delivers the same records again (at least once). A bare
``--ack`` is refused: it would commit whatever the last read of that name delivered, records
sealed after this caller's read included (issue 21). One reader per consumer name at a time
(a second exits 75). Bad manifest lines and files are skipped with a warning, the rest is
delivered. No Scrapy import: reading is cheap and safe while crawls run (only sealed,
manifest-listed files are read).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import BinaryIO

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_LOCKED, EXIT_USAGE, eprint
from pipelines.consumer.cursor import CursorError, CursorFileError
from pipelines.consumer.lock import ConsumerBusy, LockFileError
from pipelines.consumer.reader import AckError, Consumer, EntryError
from pipelines.storage.manifest import ManifestError

BARE_ACK = "bare"
"""``--ack`` given without a value (argparse's ``const``): a usage error since issue 21."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell tool killed by a closed pipe reports (``read | head -1``)."""


def run(args: argparse.Namespace) -> int:
    """Print (or write to ``-o``) the consumer's unacknowledged records, or commit through ``--ack SEQ``."""
    root = Path(args.output or "output")
    seq = parse_ack(args) if args.ack is not None else None
    if args.ack is not None and seq is None:
        return EXIT_USAGE
    if not root.is_dir():
        eprint(f"autonews: error: no output directory at {root}")
        return EXIT_USAGE
    _show_warnings()
    try:
        consumer = Consumer(root, args.consumer)
        if seq is not None:
            return acknowledge(consumer, seq)
        return deliver(consumer, args.out, commit_hint(args))
    except ConsumerBusy as exc:
        eprint(f"autonews: {exc}")
        return EXIT_LOCKED
    except AckError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    except (CursorFileError, LockFileError) as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_FAILED
    except CursorError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_USAGE
    except ManifestError as exc:
        eprint(f"autonews: error: {exc}")
        return EXIT_FAILED
    except OSError as exc:  # -o FILE or stdout not writable, a full disk
        eprint(f"autonews: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}")
        return EXIT_FAILED


def parse_ack(args: argparse.Namespace) -> int | None:
    """The ``seq`` of ``--ack SEQ``; None (after a usage message naming the right form) when it is missing or wrong."""
    if args.ack != BARE_ACK and args.ack.isascii() and args.ack.isdigit():
        return int(args.ack)
    given = "a bare --ack" if args.ack == BARE_ACK else f"--ack {args.ack!r}"
    eprint(f"autonews: error: {given}: --ack takes the manifest seq the read named, as in "
           f"autonews read --consumer {args.consumer} --ack SEQ (the read prints it on stderr: "
           f"'commit with: ...'); a bare --ack would also commit what was sealed after your read")
    return None


def commit_hint(args: argparse.Namespace) -> str:
    """The command that commits this consumer's read, ready to paste (``--ack SEQ`` appended by the caller)."""
    where = f" --output {shlex.quote(args.output)}" if args.output else ""
    return f"autonews read --consumer {args.consumer}{where} --ack"


def acknowledge(consumer: Consumer, seq: int) -> int:
    """Commit through ``seq`` (AckError beyond the manifest; nothing changes below the committed position)."""
    with consumer:
        before = consumer.cursor.committed
        now = consumer.ack(seq)
    if now == before:
        eprint(f"autonews: consumer {consumer.name}: already committed up to manifest seq {now}")
    else:
        eprint(f"autonews: consumer {consumer.name}: committed up to manifest seq {now}")
    return 0


def deliver(consumer: Consumer, out: str | None, hint: str) -> int:
    """Write the records after the committed position; say through which ``seq`` (what ``--ack`` commits)."""
    files = records = skipped = 0
    with consumer:
        committed = consumer.cursor.committed
        entries = consumer.entries()
        garbled = len(consumer.skipped)
        through = max((entry.seq for entry in entries), default=committed)
        # bytes, UTF-8 whatever the locale says (cron often runs with LANG=C)
        handle: BinaryIO = open(out, "wb") if out else sys.stdout.buffer
        try:
            for entry in entries:
                try:
                    batch = consumer.read(entry)
                except EntryError as exc:
                    eprint(f"autonews: warning: skipped {exc}")
                    skipped += 1
                    continue
                for record in batch.records:
                    # the sealed files' own format, so a line read here equals the line in the file
                    handle.write((json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
                files, records = files + 1, records + len(batch.records)
            handle.flush()
            if out:
                os.fsync(handle.fileno())
        except BrokenPipeError:
            # the reader went away (`read | head -1`): what it did not take is delivered again next time
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        finally:
            if out:
                handle.close()
        # only once everything is written out: a read that failed half-way marks nothing
        consumer.mark_pending(through)
    counts = [f"{n} {what}" for n, what in ((garbled, "garbled manifest line(s)"), (skipped, "file(s)")) if n]
    notes = f"; skipped: {', '.join(counts)} (warnings above)" if counts else ""
    if not entries:
        eprint(f"autonews: consumer {consumer.name}: nothing new after manifest seq {committed}{notes}; "
               f"commit with: {hint} {through}")
    else:
        eprint(f"autonews: consumer {consumer.name}: {records} record(s) from {files} file(s), up to manifest seq "
               f"{through}{notes}; commit with: {hint} {through}")
    return 0


def _show_warnings() -> None:
    """Route the consumer API's warnings (garbled manifest lines) to stderr as ``autonews: warning: ...``."""
    log = logging.getLogger("pipelines.consumer")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("autonews: warning: %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise BrokenPipeError again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
