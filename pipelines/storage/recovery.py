"""Item pipelines of worker mode (``autonews crawl --redis``): atomic claims, dead workers' files.

See ``crawler.distributed.addon`` for what worker mode shares through Redis.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from pipelines.dedupe.pipeline import DedupeKeys, DedupePipeline, dedupe_keys
from pipelines.storage.sealed import fsync_dir
from pipelines.state.redis_store import RedisStore
from pipelines.storage.pipeline import StoragePipeline

logger = logging.getLogger(__name__)


class WorkerDedupePipeline(DedupePipeline):
    """The dedupe pipeline with one atomic Redis claim instead of check-then-add."""

    def claim(self, keys: DedupeKeys) -> tuple[str, str] | None:
        """Claim the article in one atomic Redis call: exactly one worker gets None (new)."""
        return self.store.claim(keys.canonical_url, aliases=keys.aliases, fingerprint=keys.fingerprint,  # type: ignore[union-attr]
                                signature=keys.signature, threshold=self.threshold)


def part_instance(part: Path) -> str | None:
    """Return the worker instance (``<worker>-<pid>``) that wrote ``<time>-<worker>-<pid>-<n>.part``."""
    stem = part.name[: -len(".part")]
    stamp, sep, rest = stem.partition("-")
    instance, sep2, _seq = rest.rpartition("-")
    return instance if sep and sep2 and instance else None


class WorkerStoragePipeline(StoragePipeline):
    """Storage that recovers only dead workers' files, keeping the lines whose claims are still theirs."""

    def close_spider(self) -> None:
        """Seal everything; count claims found taken over at commit."""
        store = self.store
        super().close_spider()
        self.crawler.stats.set_value("autonews/distributed/lost_claims", getattr(store, "lost_claims", 0))

    def recover(self) -> None:
        """Seal the ``*.part`` files of dead worker instances, keeping only lines nobody else took over."""
        store: RedisStore = self.store
        live = store.live_instances() - {store.instance}
        for part in sorted(self.root.glob("articles*/*/*.part")):
            owner = part_instance(part)
            if owner is None or owner in live:
                continue
            with open(part, "rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another worker on this directory is recovering it
                if part.exists():
                    self.recover_one(part, owner)

    def recover_one(self, part: Path, owner: str) -> None:
        """Claim each complete line as ``owner``'s heir, write the kept ones, commit, then seal."""
        store: RedisStore = self.store
        stats = self.crawler.stats
        data = part.read_bytes()
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
                keys = dedupe_keys({"url": record["url"], "_canonical": record.get("canonical_url"),
                                    "text": record.get("text") or ""})
                if store.claim(keys.canonical_url, aliases=keys.aliases, fingerprint=keys.fingerprint,
                               signature=keys.signature, heir=owner) is None:
                    kept.append(line)
            final = part.with_suffix(".jsonl")
            if kept:
                tmp = part.with_suffix(".recovering")
                with open(tmp, "wb") as fh:
                    fh.write(b"".join(line + b"\n" for line in kept))
                    fh.flush()
                    os.fsync(fh.fileno())
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
