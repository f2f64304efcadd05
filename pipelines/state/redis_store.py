"""Redis backend of the dedupe state, shared by every worker of a distributed crawl.

Why claims, not check-then-add: two workers may fetch the same URL, or two syndicated
copies of one story, at the same moment. :meth:`RedisStore.claim` runs the whole
check (URLs, fingerprint, near-duplicate bands with similarity verification) and the
insert in one Lua script, so Redis serialises it: exactly one worker wins an article,
every other one gets ``(kind, owner canonical_url)`` back and drops its copy.

Claim life cycle (replaces SQLite's transaction):

- ``claim``/``add`` create or take over a document in state *pending* (``s=p``),
  owned by this worker instance (``o=<instance>``). Pending claims count as seen for
  everybody while their owner is alive.
- ``commit`` (called by the storage pipeline after the lines are fsynced) turns this
  instance's pending claims *done* (``s=d``): seen for ever (until ``prune``).
- ``rollback`` / ``close`` release them (``s=r``): free to claim again.
- An instance is alive while its heartbeat in the ``<prefix>:live`` sorted set (Redis
  server time, ms) is younger than ``timeout``; every claim and commit refreshes it,
  and the worker extension (``crawler.distributed.addon``) beats while idle. A pending claim
  of a dead instance (killed worker) is *free*: the next worker that meets the URL or
  text takes it over, so a killed worker's in-flight articles are not lost.
- Recovery of a dead instance's ``*.part`` file claims each line as that instance's
  *heir*: a line whose document the dead instance still owns (pending or done) is
  kept, a line whose article someone else has taken over meanwhile is dropped.

Versions (an article re-fetched on purpose whose text changed, ``claim(..., update=True)``): the
next version is *staged* on the done document (``n*`` fields, owned by this instance, its new
fingerprint and bands indexed at once) and :meth:`commit` makes it the latest (``F`` full
fingerprint, ``v`` version; the replaced fingerprint is kept in ``P`` for prune), after its line
is fsynced; ``rollback`` drops it. A staged version of a dead instance is taken over like a
pending claim. ``e`` / ``l`` keep the validators, ``k`` the last fetch (ms).

A commit that finds its claim taken over (this worker stalled longer than ``timeout``)
is counted as lost (``lost_claims``): the article may then be written twice, so the
timeout must exceed any stall of a worker's event loop.

Layout (prefix ``P``, default ``autonews``): ``P:doc:<id>`` hashes (canonical, fingerprint,
b-bit MinHash ``mins``, first seen, owner, state, its URL and band keys); URL,
fingerprint and band indexes as 65536 small hashes each (``P:u:<hhhh>``, ``P:f:..``,
``P:b:..``) so they stay in Redis' compact listpack encoding; ``P:count`` counters.
One Redis (not Cluster): the script touches keys it computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import redis

from pipelines.dedupe.neardup import NEAR_THRESHOLD, NearSignature
from pipelines.redact import redact
from pipelines.state.redis_lua import BEAT, CLAIM, PRUNE, SETTLE
from pipelines.state.record_args import record_add_args
from pipelines.state.redis_keys import DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisKeys
from pipelines.state.sqlite_store import MAX_NEAR_CANDIDATES
from pipelines.state.store import ClaimResult, NewVersion, StoredArticle, UrlMemory

def _hash8(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest()


def _band_bytes(band: int) -> bytes:
    return struct.pack("<i", band)


def _from_ms(value: str) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, timezone.utc) if value else None


def _parse_memory(raw: bytes) -> list[str] | None:
    """The four fields of a ``url_memory`` value; None for anything malformed (then nothing is remembered)."""
    fields = raw.decode("ascii", "replace").split("|")
    return fields if len(fields) == 4 and all(f == "" or f.isdigit() for f in fields) else None


def _memory_before(raw: bytes, cutoff: int) -> bool:
    """Whether a ``url_memory`` value holds nothing as recent as ``cutoff`` (unix seconds); malformed: True."""
    fields = _parse_memory(raw)
    if fields is None:
        return True
    checked, not_article, day, _ = fields
    latest = max(int(checked or 0) / 1000, int(not_article or 0) / 1000, int(day or 0) * 86400)
    return latest < cutoff


def default_instance() -> str:
    """Return ``<host>-<pid>``: unique per worker process."""
    return f"{socket.gethostname()}-{os.getpid()}"


class RedisStore:
    """``DedupeStore`` on Redis, with atomic :meth:`claim`; see the module docstring for the semantics."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, instance: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, client: redis.Redis | None = None) -> None:
        # the defaults are the library's; a crawl passes its AUTONEWS_REDIS_* settings (pipelines.state.backend)
        """Connect to ``url`` (``redis://HOST:PORT/DB``); ``instance`` names this worker process."""
        self.url = url
        self.client = client or redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        self.prefix = prefix
        self.keys = RedisKeys(prefix)
        self.instance = instance or default_instance()
        self.timeout_ms = int(timeout * 1000)
        self._claim = self.client.register_script(CLAIM)
        self._settle = self.client.register_script(SETTLE)
        self._beat = self.client.register_script(BEAT)
        self._prune = self.client.register_script(PRUNE)
        self.pending: list[tuple[str, str, str]] = []
        self._pending_of: dict[str, tuple[str, str, str]] = {}  # canonical URL -> its pending claim or version
        self.lost_claims = 0
        self.closed = False

    # -- the script ---------------------------------------------------------------
    def _run(self, mode: str, canonical: str, urls: Iterable[str], *, fingerprint: str | None = None,
             signature: NearSignature | None = None, threshold: float = NEAR_THRESHOLD, heir: str = "",
             first_seen: datetime | None = None, update: bool = False, version: int = 0, etag: str | None = None,
             last_modified: str | None = None, checked: datetime | None = None) -> list[str]:
        hashes = [_hash8(u) for u in dict.fromkeys(urls)]
        bands = [_band_bytes(b) for b in dict.fromkeys(signature.bands)] if signature else []
        seen = int((first_seen or datetime.now(timezone.utc)).timestamp())
        args: list[Any] = [self.prefix, self.instance, heir, mode, self.timeout_ms, threshold, MAX_NEAR_CANDIDATES,
                           canonical, bytes.fromhex(fingerprint[:16]) if fingerprint else b"",
                           signature.mins if signature else b"", seen, fingerprint or "", version,
                           "1" if update else "", etag or "", last_modified or "",
                           # ms: a run tells the articles it fetched itself from a previous run's
                           int((checked or datetime.now(timezone.utc)).timestamp() * 1000), len(hashes), *hashes, *bands]
        result = self._claim(args=args)
        parts = [p.decode("utf-8") if isinstance(p, bytes) else str(p) for p in result]
        if parts[0] in ("own", "upd"):
            claimed = (parts[1], parts[2], "c" if parts[0] == "own" else "v")
            self.pending.append(claimed)
            self._pending_of[canonical] = claimed
        return parts + ["", ""]

    def claim(self, canonical_url: str, *, aliases: Iterable[str] = (), fingerprint: str | None = None,
              signature: NearSignature | None = None, threshold: float = NEAR_THRESHOLD, update: bool = False,
              version: int = 0, etag: str | None = None, last_modified: str | None = None,
              checked: datetime | None = None, heir: str = "") -> ClaimResult:
        """Atomically check and record an article; return None when this worker won it.

        Otherwise return ``(kind, owner canonical_url)`` as ``dedupe.find_duplicate`` does;
        the copy's URLs are then recorded under the owner. With ``update`` (a re-fetch of the
        article stored at ``canonical_url``), a changed text is staged as its next version
        (:class:`NewVersion`), made the latest by :meth:`commit`. ``heir``: the dead instance
        whose ``.part`` line is being recovered (its documents count as this line's own).
        """
        parts = self._run("claim", canonical_url, [canonical_url, *aliases], fingerprint=fingerprint,
                          signature=signature, threshold=threshold, heir=heir, update=update, version=version,
                          etag=etag, last_modified=last_modified, checked=checked)
        if parts[0] == "own":
            return None
        if parts[0] == "upd":
            return NewVersion(canonical_url, int(parts[3]), parts[4])
        return parts[1], parts[2]

    # -- DedupeStore -----------------------------------------------------------------
    def has_url(self, canonical: str) -> bool:
        """Return True when this URL belongs to a done article or one a live worker holds."""
        return self.find_url(canonical) is not None

    def find_url(self, canonical: str) -> str | None:
        """Return the canonical URL of the (done or live-pending) article owning this URL, or None."""
        status, _, owner, *_ = self._run("peek", canonical, [canonical])
        return owner if status == "dup" else None

    def find_fingerprint(self, fp: str) -> str | None:
        """Return the canonical URL of the (done or live-pending) article with this fingerprint, or None."""
        status, _, owner, *_ = self._run("peek", "", [], fingerprint=fp)
        return owner if status == "dup" else None

    def find_near(self, signature: NearSignature, threshold: float = NEAR_THRESHOLD) -> str | None:
        """Return the canonical URL of the most similar (done or live-pending) article at or above ``threshold``."""
        status, _, owner, *_ = self._run("peek", "", [], signature=signature, threshold=threshold)
        return owner if status == "dup" else None

    def find_article(self, url: str) -> StoredArticle | None:
        """Return what is stored about the (done or live-pending) article owning this URL, or None.

        Plain reads, not a script: a stale answer only makes the caller fetch or skip one page.
        """
        h = _hash8(url)
        doc = self.client.hget(self.keys.url_bucket(h), h[2:])
        if doc is None:
            return None
        fields = self.client.hmget(self.keys.doc(doc.decode()), "c", "s", "o", "v", "F", "f", "e", "l", "t", "k")
        canonical, state, owner, version, full, fp, etag, last_modified, first_seen, checked = (
            v.decode("utf-8") if isinstance(v, bytes) and i != 5 else v for i, v in enumerate(fields))
        if canonical is None or state == "r":
            return None
        if state == "p" and owner != self.instance and owner not in self.live_instances():
            return None  # a dead worker's claim: free again
        return StoredArticle(canonical, int(version or 1), full or (fp.hex() if fp else None), etag or None,
                             last_modified or None, datetime.fromtimestamp(int(first_seen or 0), timezone.utc),
                             datetime.fromtimestamp(int(checked) / 1000, timezone.utc) if checked else None)

    def add(self, canonical_url: str, *, aliases: Iterable[str] = (), fingerprint: str | None = None,
            signature: NearSignature | None = None, first_seen: datetime | None = None, version: int = 1,
            checked: datetime | None = None) -> None:
        """Record an article without the duplicate check (pending until :meth:`commit`).

        When ``canonical_url`` is already recorded, only the new aliases are added to it, unless
        ``version`` is higher than the stored one: then it is staged as that version.
        """
        self._run("add", canonical_url, [canonical_url, *aliases], fingerprint=fingerprint, signature=signature,
                  first_seen=first_seen, version=version, checked=checked or first_seen)

    def add_record(self, record: dict) -> None:
        """Record an article from a written record (recovery of an interrupted run)."""
        canonical, kwargs = record_add_args(record)
        self.add(canonical, **kwargs)

    def _settle_pending(self, state: str) -> int:
        if not self.pending:
            return 0
        flat = [x for claimed in self.pending for x in claimed]
        lost = int(self._settle(args=[self.prefix, state, *flat]))
        self.pending = []
        self._pending_of.clear()
        return lost

    def release(self, canonical_url: str) -> None:
        """Release this worker's pending claim (or staged version) of one article: free for the next
        claim, any worker's; a staged version is dropped. A copy's URLs linked to another article by
        its claim stay linked (they are that article's)."""
        claimed = self._pending_of.pop(canonical_url, None)
        if claimed is None:
            return
        self.pending.remove(claimed)
        self._settle(args=[self.prefix, "r", *claimed])

    def load_progress(self) -> dict[str, dict]:
        """Return the backfill's progress per WARC file, as every worker recorded it."""
        return {name.decode(): json.loads(value) for name, value in self.client.hgetall(self.keys.warc_files).items()}

    def save_progress(self, name: str, progress: dict) -> None:
        """Record one WARC file's progress at once (the caller saves it after the commit that covers it)."""
        self.client.hset(self.keys.warc_files, name, json.dumps(progress, separators=(",", ":")))

    def commit(self) -> None:
        """Mark this worker's pending claims done (call after their lines are fsynced)."""
        self.lost_claims += self._settle_pending("d")
        self.heartbeat()

    def rollback(self) -> None:
        """Release this worker's pending claims: other workers may claim them again."""
        self._settle_pending("r")

    def close(self) -> None:
        """Release pending claims and disconnect; safe to call twice."""
        if self.closed:
            return
        try:
            self.rollback()
        finally:
            self.closed = True
            self.client.close()

    def heartbeat(self, instance: str | None = None) -> None:
        """Mark ``instance`` (default: this one) alive now, by Redis server time."""
        self._beat(args=[self.prefix, instance or self.instance])

    def forget_instance(self, instance: str) -> None:
        """Drop ``instance`` from the live set (its pending claims become free at once)."""
        self.client.zrem(self.keys.live, instance)

    def live_instances(self) -> set[str]:
        """Return the instances whose heartbeat is younger than the timeout."""
        seconds, micros = self.client.time()
        now = seconds * 1000 + micros // 1000
        members = self.client.zrangebyscore(self.keys.live, now - self.timeout_ms, "+inf")
        return {m.decode() for m in members}

    # -- what the state remembers per URL beside the articles (UrlMemory) --------------------------------
    # One field per URL in 65536 buckets (compact listpacks), the value "checked|not_article|day|versions"
    # (ms, ms, days since 1970, count; empty when unknown). Read-modify-write without a script: two workers
    # updating one URL at the same moment can lose one update, which costs at most one extra fetch.
    def url_memory(self, url: str) -> UrlMemory | None:
        """Return what the state remembers about fetching ``url`` (a canonical URL), or None."""
        fields = self._memory_fields(url)
        if fields is None:
            return None
        checked, not_article, day, versions = fields
        return UrlMemory(_from_ms(checked), _from_ms(not_article),
                         date(1970, 1, 1) + timedelta(days=int(day)) if day else None, int(versions or 0))

    def _memory_fields(self, url: str) -> list[str] | None:
        h = _hash8(url)
        raw = self.client.hget(self.keys.url_memory(h), h[2:])
        return None if raw is None else _parse_memory(raw)

    def _remember(self, url: str, index: int, value: str, fields: list[str] | None = None) -> None:
        h = _hash8(url)
        fields = fields or self._memory_fields(url) or ["", "", "", ""]
        fields[index] = value
        self.client.hset(self.keys.url_memory(h), h[2:], "|".join(fields))

    def record_check(self, url: str, at: datetime) -> None:
        """Remember that the stored article at ``url`` was fetched again at ``at`` (any answer, a 304 too)."""
        self._remember(url, 0, str(int(at.timestamp() * 1000)))

    def record_not_article(self, url: str, at: datetime) -> None:
        """Remember that the page at ``url`` was found not to be an article at ``at``."""
        self._remember(url, 1, str(int(at.timestamp() * 1000)))

    def record_version(self, url: str, at: datetime) -> int:
        """Count one new version of the article at ``url`` written at ``at``; return the count of that UTC day."""
        fields = self._memory_fields(url) or ["", "", "", ""]
        day = str(int(at.timestamp() // 86400))
        count = int(fields[3] or 0) + 1 if fields[2] == day else 1
        fields[2] = day
        self._remember(url, 3, str(count), fields)
        return count

    def stats(self) -> dict:
        """Return article, URL and fingerprint counts and Redis' used memory."""
        counts = {k.decode(): int(v) for k, v in self.client.hgetall(self.keys.count).items()}
        memory = self.client.info("memory")
        return {"url": redact(self.url), "prefix": self.prefix, "articles": counts.get("articles", 0),
                "urls": counts.get("urls", 0), "fingerprints": counts.get("fingerprints", 0),
                "live_workers": len(self.live_instances()), "redis_used_memory": memory.get("used_memory")}

    def prune(self, older_than: timedelta) -> int:
        """Forget articles first seen more than ``older_than`` ago (done or released only); return how many."""
        cutoff = int(time.time() - older_than.total_seconds())
        removed = 0
        for key in self.client.scan_iter(match=self.keys.docs, count=1000):
            removed += int(self._prune(args=[self.prefix, key.decode().rsplit(":", 1)[1], cutoff]))
        for bucket in self.client.scan_iter(match=self.keys.url_memories, count=1000):
            old = [name for name, raw in self.client.hgetall(bucket).items() if _memory_before(raw, cutoff)]
            if old:
                self.client.hdel(bucket, *old)
        return removed
