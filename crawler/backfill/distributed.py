"""WARC files as units of work on Redis: ``autonews backfill --redis URL`` on N machines splits them.

Every worker, started with the same file arguments (e.g. one month of CC-NEWS), enqueues the files
that are neither done nor queued nor being read (one Lua script: two workers starting together
queue each file once), then takes files one at a time until none is left. A taken file is
*claimed* (``P:warc:claims``: name -> the worker instance); its progress is the shared
``P:warc:files`` hash the state keeps (``RedisStore.save_progress``), so a worker that takes over
the claim of a dead instance (no heartbeat for ``AUTONEWS_REDIS_WORKER_TIMEOUT``) resumes the file at
the dead worker's last committed offset; the dedupe state's claims make sure nothing is written
twice (the dead worker's pending articles are free to be taken over, its ``.part`` recovered).

Queue entries are untrusted (anyone with access to Redis can write them): an entry is a JSON
``{"name", "location"}``; a remote one is fetched through the address guard like any URL, and a
local path is read only if this worker was given that very file on its command line.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import redis
from scrapy.settings import BaseSettings

from crawler.backfill.files import WarcFile
from crawler.distributed.connection import connect, redis_keys
from pipelines.state.redis_keys import DEFAULT_TIMEOUT, RedisKeys

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often a worker with nothing left to take looks for a dead worker's file."""

# KEYS: queue, claims, files; ARGV: entry JSON, name. Queue the file unless done, claimed or queued.
_ENQUEUE = """
local progress = redis.call('HGET', KEYS[3], ARGV[2])
if progress then
  local ok, data = pcall(cjson.decode, progress)
  if ok and type(data) == 'table' and data.status == 'done' then return 0 end
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
if redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
"""

# KEYS: queue, claims, files, live; ARGV: instance, timeout ms. Take over a dead instance's file, else
# the next queued file not done; claim it. Returns the entry JSON or nil.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claims = redis.call('HGETALL', KEYS[2])
for i = 1, #claims, 2 do
  local ok, claim = pcall(cjson.decode, claims[i + 1])
  if ok and type(claim) == 'table' and type(claim.instance) == 'string' and claim.instance ~= ARGV[1] then
    local beat = redis.call('ZSCORE', KEYS[4], claim.instance)
    if (not beat) or tonumber(beat) < now - tonumber(ARGV[2]) then
      local entry = claim.entry
      claim.instance = ARGV[1]
      redis.call('HSET', KEYS[2], claims[i], cjson.encode(claim))
      return entry
    end
  elseif not ok or type(claim) ~= 'table' then
    redis.call('HDEL', KEYS[2], claims[i])
  end
end
while true do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then return nil end
  local ok, file = pcall(cjson.decode, entry)
  if ok and type(file) == 'table' and type(file.name) == 'string' then
    local done = false
    local progress = redis.call('HGET', KEYS[3], file.name)
    if progress then
      local ok2, data = pcall(cjson.decode, progress)
      done = ok2 and type(data) == 'table' and data.status == 'done'
    end
    if not done and redis.call('HEXISTS', KEYS[2], file.name) == 0 then
      redis.call('HSET', KEYS[2], file.name, cjson.encode({instance = ARGV[1], entry = entry}))
      return entry
    end
  end
end
"""

# KEYS: claims; ARGV: name, instance. Drop the claim if it is still this instance's.
_RELEASE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, claim = pcall(cjson.decode, raw)
if ok and type(claim) == 'table' and claim.instance ~= ARGV[1 + 1] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""


class RedisPlan:
    """Files from the shared Redis queue (``crawler.backfill.plan.FilePlan``)."""

    def __init__(self, client: redis.Redis, keys: RedisKeys, instance: str, timeout: float,
                 files: list[WarcFile]) -> None:
        self.client = client
        self.keys = keys
        self.instance = instance
        self.timeout_ms = int(timeout * 1000)
        self.own = {f.name: f for f in files}
        self._enqueue = client.register_script(_ENQUEUE)
        self._take = client.register_script(_TAKE)
        self._release = client.register_script(_RELEASE)
        self.rejected = 0
        self.stop = threading.Event()
        """Set by the spider when the run closes: a waiting :meth:`take` returns."""
        queued = sum(self._enqueue(keys=[keys.warc_queue, keys.warc_claims, keys.warc_files],
                                   args=[json.dumps(f.to_json(), sort_keys=True), f.name]) for f in files)
        self.total = len(files)
        done = 0
        for name in self.own:
            progress = _progress(client.hget(keys.warc_files, name))
            done += progress.get("status") == "done"
        self.skipped_done = done
        logger.info("Queued %d of %d WARC file(s) on Redis (%d done already)", queued, len(files), done)

    @classmethod
    def from_settings(cls, settings: BaseSettings, files: list[WarcFile]) -> RedisPlan:
        """The plan of a worker: its Redis, key prefix, instance name and worker timeout."""
        timeout = settings.get("AUTONEWS_REDIS_WORKER_TIMEOUT")
        return cls(connect(settings), redis_keys(settings), settings.get("AUTONEWS_REDIS_INSTANCE"),
                   float(timeout) if timeout not in (None, "") else DEFAULT_TIMEOUT, files)

    def accept(self, entry: Any) -> WarcFile | None:
        """The file of a queue entry this worker may read, or None (remote: the guard decides; local: only its own)."""
        try:
            wfile = WarcFile.from_json(json.loads(entry))
        except (ValueError, TypeError):
            return None
        if wfile.remote:
            return wfile
        own = self.own.get(wfile.name)
        return own if own is not None and own.location == wfile.location else None

    def take(self) -> tuple[WarcFile, int, int | None] | None:
        """Claim the next file (a dead worker's first); with the offset its saved progress resumes at.

        With the queue empty, a file another worker still reads may yet be left by a dead one: wait
        (polling every ``POLL_SECONDS``) until no other worker holds a claim, then give up.
        """
        while not self.stop.is_set():
            entry = self._take(keys=[self.keys.warc_queue, self.keys.warc_claims, self.keys.warc_files,
                                     self.keys.live], args=[self.instance, self.timeout_ms])
            if entry is None:
                if not self.others_reading():
                    return None
                self.stop.wait(POLL_SECONDS)
                continue
            wfile = self.accept(entry)
            if wfile is None:
                self.rejected += 1
                logger.warning("Dropped a WARC queue entry this worker may not read (%d bytes)", len(entry))
                name = _entry_name(entry)
                if name:
                    self._release(keys=[self.keys.warc_claims], args=[name, self.instance])
                continue
            progress = _progress(self.client.hget(self.keys.warc_files, wfile.name))
            offset = progress.get("offset", 0) if progress.get("status") == "partial" else 0
            return wfile, offset if isinstance(offset, int) and offset >= 0 else 0, None
        return None

    def others_reading(self) -> bool:
        """Whether another worker instance holds a claim on a file."""
        for raw in self.client.hvals(self.keys.warc_claims):
            claim = _progress(raw)
            if claim.get("instance") != self.instance:
                return True
        return False

    def finish(self, wfile: WarcFile, done: bool) -> None:
        """Release the claim. A file not read to the end is not queued again in this round (a file that
        cannot be fetched would go round the workers for ever): the next run's workers queue it."""
        self._release(keys=[self.keys.warc_claims], args=[wfile.name, self.instance])


def _progress(raw: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _entry_name(entry: bytes) -> str | None:
    try:
        data = json.loads(entry)
    except ValueError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None
