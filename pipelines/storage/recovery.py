"""Recovery of ``*.part`` files a killed run left behind, before a crawl writes anything new.

A single crawl owns its state (the run lock), so every leftover ``.part`` is its own: sealed,
torn last line cut, and its articles recorded as seen. With a shared state (distributed
workers) a leftover file may belong to a worker that is still running, or whose articles
others have taken over since it died: only dead instances' files are recovered, and only the
lines whose claims are still theirs are kept.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

from scrapy.statscollectors import StatsCollector

from pipelines.dedupe.pipeline import dedupe_keys
from pipelines.state.backend import is_redis_store
from pipelines.state.store import DedupeStore, NewVersion
from pipelines.storage.naming import PART_GLOB, part_instance
from pipelines.storage.safefs import NotRegularFile, clean_stale_temps, open_existing, write_temp
from pipelines.storage.sealed import BadPart, PartInUse, fsync_dir, recover_part

if TYPE_CHECKING:
    from pipelines.state.redis_store import RedisStore

logger = logging.getLogger(__name__)


def recover(root: Path, store: DedupeStore, stats: StatsCollector) -> None:
    """Recover the leftover ``.part`` files under ``root`` as the store's kind of state requires."""
    if is_redis_store(store):
        recover_dead_workers(root, cast("RedisStore", store), stats)
    else:
        recover_own(root, store, stats)


def leftover_parts(root: Path) -> list[Path]:
    """The ``*.part`` files under ``root``, in name order, after removing the temporary files a killed
    recovery left beside them (those of dead processes only)."""
    parts = sorted(root.glob(PART_GLOB))
    for directory in sorted({part.parent for part in parts}):
        clean_stale_temps(directory)
    return parts


def recover_own(root: Path, store: DedupeStore, stats: StatsCollector) -> None:
    """Seal every leftover ``*.part`` file and record its articles as seen."""
    for part in leftover_parts(root):
        try:
            final, records = recover_part(part)
        except PartInUse:
            continue
        except BadPart as exc:
            set_aside(stats, exc)
            continue
        for record in records:
            store.add_record(record)
        store.commit()
        stats.inc_value("autonews/recovered/files")
        stats.inc_value("autonews/recovered/articles", len(records))
        logger.warning("Recovered %d article(s) from an interrupted run: %s", len(records), final)


def recover_dead_workers(root: Path, store: RedisStore, stats: StatsCollector) -> None:
    """Seal the ``*.part`` files of dead worker instances, keeping only lines nobody else took over."""
    live = store.live_instances() - {store.instance}
    for part in leftover_parts(root):
        owner = part_instance(part)
        if owner is None or owner in live:
            continue
        try:
            fd = open_existing(part, os.O_RDONLY)  # a planted link is never read through
        except NotRegularFile as exc:
            set_aside(stats, exc)
            continue
        except FileNotFoundError:
            continue  # another worker has just recovered it
        with open(fd, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another worker on this directory is recovering it
            if part.exists():
                _recover_dead_part(part, handle.read(), owner, store, stats)


def set_aside(stats: StatsCollector, exc: OSError) -> None:
    """Leave a ``.part`` that is a link, not a regular file or not JSON Lines where it is, logged and counted."""
    stats.inc_value("autonews/errors/bad_part")
    stats.inc_value("autonews/errors/total")
    logger.error("Left %s alone, not recovered: %s", exc.filename, exc.strerror)


def _recover_dead_part(part: Path, data: bytes, owner: str, store: RedisStore, stats: StatsCollector) -> None:
    """Claim each complete line (of ``data``, read from the locked ``part``) as ``owner``'s heir, write the
    kept ones, commit, then seal."""
    lines = [line for line in data[: data.rfind(b"\n") + 1].splitlines() if line.strip()]
    store.heartbeat(owner)  # adopt the dead instance while its lines are claimed
    kept = []
    try:
        for line in lines:
            record = json.loads(line)
            if record.get("duplicate_of"):
                store.add_record(record)
                kept.append(line)
                continue
            keys = dedupe_keys(record["url"], record.get("canonical_url"), None, record.get("text") or "")
            version = record.get("version") if isinstance(record.get("version"), int) else 1
            # a later version of a stored article is kept only as that very version (nobody wrote it meanwhile)
            found = store.claim(keys.canonical_url, aliases=keys.aliases, fingerprint=keys.fingerprint,
                                signature=keys.signature, heir=owner, update=version > 1,
                                version=version if version > 1 else 0)
            if found is None or (isinstance(found, NewVersion) and found.version == version):
                kept.append(line)
        final = part.with_suffix(".jsonl")
        if kept:
            # a fresh O_EXCL|O_NOFOLLOW name (a killed recovery's is removed by the next run: clean_stale_temps)
            tmp = write_temp(final, b"".join(line + b"\n" for line in kept))
            store.commit()
            os.replace(tmp, final)
        else:
            store.commit()
        part.unlink()
        fsync_dir(part.parent)
    finally:
        store.forget_instance(owner)
    stats.inc_value("autonews/recovered/files")
    stats.inc_value("autonews/recovered/articles", len(kept))
    stats.inc_value("autonews/distributed/recovery_dropped", len(lines) - len(kept))
    logger.warning("Recovered %d of %d article(s) of dead worker %s: %s", len(kept), len(lines), owner, final)
