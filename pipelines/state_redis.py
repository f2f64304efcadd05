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
  and the worker extension (``crawler.distributed``) beats while idle. A pending claim
  of a dead instance (killed worker) is *free*: the next worker that meets the URL or
  text takes it over, so a killed worker's in-flight articles are not lost.
- Recovery of a dead instance's ``*.part`` file claims each line as that instance's
  *heir*: a line whose document the dead instance still owns (pending or done) is
  kept, a line whose article someone else has taken over meanwhile is dropped.

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
import os
import socket
import struct
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from pipelines.neardup import NEAR_THRESHOLD, NearSignature, near_signature, text_fingerprint
from pipelines.state_sqlite import MAX_NEAR_CANDIDATES
from pipelines.urls import canonicalize_url, url_aliases

DEFAULT_PREFIX = "autonews"
DEFAULT_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a worker instance counts as dead."""

_CLAIM = r"""
local P, me, heir, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local timeout, threshold, maxcand = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local canonical, fp, mins, first_seen = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local nu = tonumber(ARGV[12])
local urls, bands = {}, {}
for k = 13, 12 + nu do urls[#urls + 1] = ARGV[k] end
for k = 13 + nu, #ARGV do bands[#bands + 1] = ARGV[k] end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if mode ~= 'peek' then redis.call('ZADD', P .. ':live', now, me) end

local function ikey(kind, h) return P .. ':' .. kind .. ':' .. string.format('%02x%02x', h:byte(1), h:byte(2)) end
local function status(id)
  local d = redis.call('HMGET', P .. ':doc:' .. id, 's', 'o')
  if not d[1] then return nil end
  if heir ~= '' and d[2] == heir then return 'heir' end
  if d[1] == 'd' then return 'held' end
  if d[1] == 'r' then return 'free' end
  if d[2] == me then return 'held' end
  local seen = redis.call('ZSCORE', P .. ':live', d[2])
  if seen and now - tonumber(seen) <= timeout then return 'held' end
  return 'free'
end
local function canon(id) return redis.call('HGET', P .. ':doc:' .. id, 'c') end
local function sim(a, b)
  if not b or #a ~= #b then return 0 end
  local same = 0
  for k = 1, #a, 2 do if a:sub(k, k + 1) == b:sub(k, k + 1) then same = same + 1 end end
  return same / (#a / 2)
end
local function link_urls(id, only_new)
  local key, blob = P .. ':doc:' .. id, ''
  for _, h in ipairs(urls) do
    local cur = redis.call('HGET', ikey('u', h), h:sub(3))
    if not cur or (not only_new and cur ~= tostring(id)) then
      if not cur then redis.call('HINCRBY', P .. ':count', 'urls', 1) end
      redis.call('HSET', ikey('u', h), h:sub(3), id)
      blob = blob .. h
    end
  end
  if blob ~= '' then redis.call('HSET', key, 'u', (redis.call('HGET', key, 'u') or '') .. blob) end
end

local take = nil
if mode == 'add' then
  local cur = redis.call('HGET', ikey('u', urls[1]), urls[1]:sub(3))
  if cur and redis.call('EXISTS', P .. ':doc:' .. cur) == 1 then
    link_urls(cur, true)
    return {'dup', 'duplicate_url', canon(cur)}
  end
else
  local function consider(id)
    local st = status(id)
    if st == 'held' then return true end
    if st and not take then take = id end
    return false
  end
  for _, h in ipairs(urls) do
    local id = redis.call('HGET', ikey('u', h), h:sub(3))
    if id and consider(id) then
      if mode == 'claim' then link_urls(id, true) end
      return {'dup', 'duplicate_url', canon(id)}
    end
  end
  if fp ~= '' then
    local id = redis.call('HGET', ikey('f', fp), fp:sub(3))
    if id and consider(id) then
      if mode == 'claim' then link_urls(id, true) end
      return {'dup', 'duplicate_text', canon(id)}
    end
  end
  if mins ~= '' and #bands > 0 then
    local counts, order = {}, {}
    for _, b in ipairs(bands) do
      local v = redis.call('HGET', ikey('b', b), b:sub(3))
      if v then
        for id in v:gmatch('%d+') do
          if not counts[id] then counts[id] = 0; order[#order + 1] = id end
          counts[id] = counts[id] + 1
        end
      end
    end
    table.sort(order, function(x, y)
      if counts[x] ~= counts[y] then return counts[x] > counts[y] end
      return tonumber(x) < tonumber(y)
    end)
    local best, best_score, free = nil, -1, nil
    for k = 1, math.min(#order, maxcand) do
      local id = order[k]
      local score = sim(mins, redis.call('HGET', P .. ':doc:' .. id, 'm'))
      if score >= threshold then
        local st = status(id)
        if st == 'held' and score > best_score then best, best_score = id, score
        elseif st and st ~= 'held' and not free then free = id end
      end
    end
    if best then
      if mode == 'claim' then link_urls(best, true) end
      return {'dup', 'near_duplicate', canon(best)}
    end
    if not take then take = free end
  end
  if mode == 'peek' then return {'none'} end
end

local id = take
if not id then
  id = redis.call('INCR', P .. ':docid')
  redis.call('HINCRBY', P .. ':count', 'articles', 1)
end
local key = P .. ':doc:' .. id
local owner = me
if heir ~= '' then owner = heir end
redis.call('HSET', key, 'c', canonical, 'o', owner, 's', 'p')
if redis.call('HEXISTS', key, 't') == 0 then redis.call('HSET', key, 't', first_seen) end
if fp ~= '' then
  if redis.call('HSET', ikey('f', fp), fp:sub(3), id) == 1 then redis.call('HINCRBY', P .. ':count', 'fingerprints', 1) end
  redis.call('HSET', key, 'f', fp)
end
if mins ~= '' then
  redis.call('HSET', key, 'm', mins)
  local blob = ''
  for _, b in ipairs(bands) do
    local bk, field = ikey('b', b), b:sub(3)
    local v = redis.call('HGET', bk, field)
    if not v then redis.call('HSET', bk, field, id); blob = blob .. b
    elseif not (' ' .. v .. ' '):find(' ' .. id .. ' ', 1, true) then redis.call('HSET', bk, field, v .. ' ' .. id); blob = blob .. b end
  end
  if blob ~= '' then redis.call('HSET', key, 'b', (redis.call('HGET', key, 'b') or '') .. blob) end
end
link_urls(id, false)
return {'own', tostring(id), owner}
"""

_SETTLE = r"""
-- ARGV: prefix, new state ('d' commit / 'r' release), then (id, owner) pairs. Returns claims lost.
local P, state, lost = ARGV[1], ARGV[2], 0
for k = 3, #ARGV, 2 do
  local key = P .. ':doc:' .. ARGV[k]
  local d = redis.call('HMGET', key, 's', 'o')
  if d[1] == 'p' and d[2] == ARGV[k + 1] then redis.call('HSET', key, 's', state)
  elseif d[1] ~= 'd' or d[2] ~= ARGV[k + 1] then lost = lost + 1 end
end
return lost
"""

_PRUNE = r"""
-- ARGV: prefix, doc id, cutoff (unix seconds). Deletes the doc and the index entries still pointing to it.
local P, id, cutoff = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key = P .. ':doc:' .. id
local d = redis.call('HMGET', key, 't', 's', 'u', 'b', 'f')
if not d[1] or tonumber(d[1]) >= cutoff or d[2] == 'p' then return 0 end
local function ikey(kind, h) return P .. ':' .. kind .. ':' .. string.format('%02x%02x', h:byte(1), h:byte(2)) end
local u = d[3] or ''
for k = 1, #u, 8 do
  local h = u:sub(k, k + 7)
  if redis.call('HGET', ikey('u', h), h:sub(3)) == id then
    redis.call('HDEL', ikey('u', h), h:sub(3)); redis.call('HINCRBY', P .. ':count', 'urls', -1)
  end
end
local b = d[4] or ''
for k = 1, #b, 4 do
  local h = b:sub(k, k + 3)
  local v = redis.call('HGET', ikey('b', h), h:sub(3))
  if v then
    local rest = {}
    for other in v:gmatch('%d+') do if other ~= id then rest[#rest + 1] = other end end
    if #rest == 0 then redis.call('HDEL', ikey('b', h), h:sub(3))
    else redis.call('HSET', ikey('b', h), h:sub(3), table.concat(rest, ' ')) end
  end
end
if d[5] and redis.call('HGET', ikey('f', d[5]), d[5]:sub(3)) == id then
  redis.call('HDEL', ikey('f', d[5]), d[5]:sub(3)); redis.call('HINCRBY', P .. ':count', 'fingerprints', -1)
end
redis.call('DEL', key)
redis.call('HINCRBY', P .. ':count', 'articles', -1)
return 1
"""

_BEAT = r"""
local t = redis.call('TIME')
redis.call('ZADD', ARGV[1] .. ':live', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[2])
return 1
"""


def _hash8(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest()


def _band_bytes(band: int) -> bytes:
    return struct.pack("<i", band)


def default_instance() -> str:
    """Return ``<host>-<pid>``: unique per worker process."""
    return f"{socket.gethostname()}-{os.getpid()}"


class RedisStore:
    """``DedupeStore`` on Redis, with atomic :meth:`claim`; see the module docstring for the semantics."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, instance: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, client: redis.Redis | None = None) -> None:
        """Connect to ``url`` (``redis://HOST:PORT/DB``); ``instance`` names this worker process."""
        self.url = url
        self.client = client or redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        self.prefix = prefix
        self.instance = instance or default_instance()
        self.timeout_ms = int(timeout * 1000)
        self._claim = self.client.register_script(_CLAIM)
        self._settle = self.client.register_script(_SETTLE)
        self._beat = self.client.register_script(_BEAT)
        self._prune = self.client.register_script(_PRUNE)
        self.pending: list[tuple[str, str]] = []
        self.lost_claims = 0
        self.closed = False

    @classmethod
    def from_settings(cls, settings: Any) -> RedisStore:
        """Build from ``AUTONEWS_REDIS_URL``, ``AUTONEWS_REDIS_PREFIX``, ``AUTONEWS_REDIS_INSTANCE``, ``AUTONEWS_REDIS_WORKER_TIMEOUT``."""
        return cls(settings.get("AUTONEWS_REDIS_URL"), prefix=settings.get("AUTONEWS_REDIS_PREFIX") or DEFAULT_PREFIX,
                   instance=settings.get("AUTONEWS_REDIS_INSTANCE") or None,
                   timeout=settings.getfloat("AUTONEWS_REDIS_WORKER_TIMEOUT", DEFAULT_TIMEOUT))

    # -- the script ---------------------------------------------------------------
    def _run(self, mode: str, canonical: str, urls: Iterable[str], *, fingerprint: str | None = None,
             signature: NearSignature | None = None, threshold: float = NEAR_THRESHOLD, heir: str = "",
             first_seen: datetime | None = None) -> tuple[str, str, str]:
        hashes = [_hash8(u) for u in dict.fromkeys(urls)]
        bands = [_band_bytes(b) for b in dict.fromkeys(signature.bands)] if signature else []
        seen = int((first_seen or datetime.now(timezone.utc)).timestamp())
        args: list[Any] = [self.prefix, self.instance, heir, mode, self.timeout_ms, threshold, MAX_NEAR_CANDIDATES,
                           canonical, bytes.fromhex(fingerprint[:16]) if fingerprint else b"",
                           signature.mins if signature else b"", seen, len(hashes), *hashes, *bands]
        result = self._claim(args=args)
        parts = [p.decode("utf-8") if isinstance(p, bytes) else str(p) for p in result]
        if parts[0] == "own":
            self.pending.append((parts[1], parts[2]))
        return (parts + ["", ""])[0], (parts + ["", ""])[1], (parts + ["", ""])[2]

    def claim(self, canonical_url: str, *, aliases: Iterable[str] = (), fingerprint: str | None = None,
              signature: NearSignature | None = None, threshold: float = NEAR_THRESHOLD,
              heir: str = "") -> tuple[str, str] | None:
        """Atomically check and record an article; return None when this worker won it.

        Otherwise return ``(kind, owner canonical_url)`` as ``dedupe.find_duplicate`` does;
        the copy's URLs are then recorded under the owner. ``heir``: the dead instance
        whose ``.part`` line is being recovered (its documents count as this line's own).
        """
        status, kind, owner = self._run("claim", canonical_url, [canonical_url, *aliases], fingerprint=fingerprint,
                                        signature=signature, threshold=threshold, heir=heir)
        return None if status == "own" else (kind, owner)

    # -- DedupeStore -----------------------------------------------------------------
    def has_url(self, canonical: str) -> bool:
        """Return True when this URL belongs to a done article or one a live worker holds."""
        return self.find_url(canonical) is not None

    def find_url(self, canonical: str) -> str | None:
        """Return the canonical URL of the (done or live-pending) article owning this URL, or None."""
        status, _, owner = self._run("peek", canonical, [canonical])
        return owner if status == "dup" else None

    def find_fingerprint(self, fp: str) -> str | None:
        """Return the canonical URL of the (done or live-pending) article with this fingerprint, or None."""
        status, _, owner = self._run("peek", "", [], fingerprint=fp)
        return owner if status == "dup" else None

    def find_near(self, signature: NearSignature, threshold: float = NEAR_THRESHOLD) -> str | None:
        """Return the canonical URL of the most similar (done or live-pending) article at or above ``threshold``."""
        status, _, owner = self._run("peek", "", [], signature=signature, threshold=threshold)
        return owner if status == "dup" else None

    def add(self, canonical_url: str, *, aliases: Iterable[str] = (), fingerprint: str | None = None,
            signature: NearSignature | None = None, first_seen: datetime | None = None) -> None:
        """Record an article without the duplicate check (pending until :meth:`commit`).

        When ``canonical_url`` is already recorded, only the new aliases are added to it.
        """
        self._run("add", canonical_url, [canonical_url, *aliases], fingerprint=fingerprint, signature=signature,
                  first_seen=first_seen)

    def add_record(self, record: dict) -> None:
        """Record an article from a written record (recovery of an interrupted run)."""
        canonical = record.get("canonical_url") or canonicalize_url(record["url"])
        aliases = url_aliases(record.get("url"), canonical)
        if record.get("duplicate_of"):
            self.add(canonical, aliases=aliases)
            return
        text = record.get("text") or ""
        self.add(canonical, aliases=aliases, fingerprint=record.get("fingerprint") or text_fingerprint(text),
                 signature=near_signature(text))

    def _settle_pending(self, state: str) -> int:
        if not self.pending:
            return 0
        flat = [x for pair in self.pending for x in pair]
        lost = int(self._settle(args=[self.prefix, state, *flat]))
        self.pending = []
        return lost

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
        self.client.zrem(f"{self.prefix}:live", instance)

    def live_instances(self) -> set[str]:
        """Return the instances whose heartbeat is younger than the timeout."""
        seconds, micros = self.client.time()
        now = seconds * 1000 + micros // 1000
        members = self.client.zrangebyscore(f"{self.prefix}:live", now - self.timeout_ms, "+inf")
        return {m.decode() for m in members}

    def stats(self) -> dict:
        """Return article, URL and fingerprint counts and Redis' used memory."""
        counts = {k.decode(): int(v) for k, v in self.client.hgetall(f"{self.prefix}:count").items()}
        memory = self.client.info("memory")
        return {"url": self.url, "prefix": self.prefix, "articles": counts.get("articles", 0),
                "urls": counts.get("urls", 0), "fingerprints": counts.get("fingerprints", 0),
                "live_workers": len(self.live_instances()), "redis_used_memory": memory.get("used_memory")}

    def prune(self, older_than: timedelta) -> int:
        """Forget articles first seen more than ``older_than`` ago (done or released only); return how many."""
        cutoff = int(time.time() - older_than.total_seconds())
        removed = 0
        for key in self.client.scan_iter(match=f"{self.prefix}:doc:*", count=1000):
            removed += int(self._prune(args=[self.prefix, key.decode().rsplit(":", 1)[1], cutoff]))
        return removed
