"""Rebuild the dedupe state from the output: ``autonews state rebuild``.

The sealed files are the source of truth: every article autonews ever wrote is there, listed with
its sha256 in ``manifest.jsonl``. Each file is checked against its manifest line
(``pipelines.consumer.reader.read_entry``: size, sha256, record count) and a file that fails is
skipped and reported, never trusted. Its records are replayed into a fresh state through
``DedupeStore.add_record``, the very call that records the lines of an interrupted run
(``pipelines.state.record_args``), so URLs, canonical URLs, fingerprints, versions, earlier
fingerprints and near-duplicate signatures are derived exactly as the crawl derived them. The
copies a crawl dropped (never written) are replayed from its drop journal
(``pipelines.dedupe.journal``), so their URLs are not fetched again either.

The new state is built aside (a temporary SQLite file beside the state, or a temporary Redis key
prefix) and switched in at once: a rename for SQLite, one MULTI/EXEC for Redis. What cannot be
rebuilt: ETag / Last-Modified validators (not in the records: the next re-check of an updated
article is a full fetch, not a 304).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.consumer.reader import read_entry
from pipelines.dedupe.journal import NOT_ARTICLE, read_journal
from pipelines.state.backend import open_state
from pipelines.state.location import is_redis
from pipelines.state.readable import StateUnreadable, check_state
from pipelines.state.redis_keys import DEFAULT_PREFIX, RedisKeys
from pipelines.state.store import DedupeStore
from pipelines.storage.manifest import ManifestEntry, ManifestError, read_manifest
from pipelines.storage.safefs import clean_stale_temps, create_new, temp_path
from pipelines.storage.sealed import fsync_dir

if TYPE_CHECKING:
    import redis

COMMIT_EVERY = 2000
"""Records per commit while rebuilding: SQLite fsyncs each commit, Redis settles the pending claims."""

Progress = Callable[["RebuildSummary"], None]


class StateExists(RuntimeError):
    """The target already holds a readable state and ``force`` was not given."""


@dataclass
class RebuildSummary:
    """What a rebuild read and recorded."""

    state: str
    files: int = 0
    """Sealed files whose records were replayed."""
    total_files: int = 0
    records: int = 0
    articles: int = 0
    """Records of a first version (``version`` 1), each a distinct article."""
    versions: int = 0
    """Records of a later version of an article (``version`` > 1)."""
    duplicates: int = 0
    """Records kept with ``duplicate_of`` (``AUTONEWS_KEEP_DUPLICATES``): their URLs only."""
    dropped_copies: int = 0
    """Copies the crawls dropped, replayed from their drop journals (their URLs only)."""
    bad_records: int = 0
    """Lines of a checked file that are no article record (no ``url``)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(file, why)`` of each manifest-listed file not replayed."""
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary as lines for stderr: the counts, then one line per skipped file."""
        head = (f"state rebuilt at {self.state}: files: {self.files}, records: {self.records}, "
                f"articles: {self.articles}, versions: {self.versions}, duplicates kept: {self.duplicates}, "
                f"dropped copies: {self.dropped_copies}, skipped files: {len(self.skipped)}, "
                f"time: {self.seconds:.1f} s")
        out = [head]
        if self.bad_records:
            out.append(f"{self.bad_records} line(s) were no article record and were ignored")
        out += [f"skipped {name}: {why}" for name, why in self.skipped]
        return out


def checked_files(root: Path, summary: RebuildSummary) -> Iterator[tuple[ManifestEntry, list[dict[str, Any]]]]:
    """Each manifest-listed file whose bytes match its line, with its records; the others go to ``summary.skipped``."""
    entries = read_manifest(root)
    summary.total_files = len(entries)
    for entry in entries:
        try:
            records = read_entry(root, entry)
        except ManifestError as exc:
            summary.skipped.append((entry.file, str(exc)))
            continue
        yield entry, records


def replay(store: DedupeStore, root: Path, summary: RebuildSummary, progress: Progress | None = None,
           commit_every: int = COMMIT_EVERY) -> RebuildSummary:
    """Record every checked file's records, then every journaled dropped copy, into ``store``; commit."""
    pending = 0
    for _entry, records in checked_files(root, summary):
        for record in records:
            version = record.get("version")
            later = isinstance(version, int) and version > 1 and not record.get("duplicate_of")
            if later and pending:
                # a later version replaces a *committed* article's text (Redis stages it on a done document)
                store.commit()
                pending = 0
            try:
                store.add_record(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                summary.bad_records += 1
                continue
            summary.records += 1
            if record.get("duplicate_of"):
                summary.duplicates += 1
            elif later:
                summary.versions += 1
            else:
                summary.articles += 1
            pending += 1
            if pending >= commit_every:
                store.commit()
                pending = 0
                if progress is not None:
                    progress(summary)
        summary.files += 1
        if progress is not None:
            progress(summary)
    store.commit()
    for copy in read_journal(root):
        if copy.kind == NOT_ARTICLE:  # a page that was not an article: not fetched again for a while either
            for url in (copy.canonical_url, *copy.aliases):
                store.record_not_article(url, journal_time(copy.seen_at))
        elif copy.duplicate_of and store.find_url(copy.duplicate_of) is not None:
            # as the crawl's claim left it: the copy's URLs recorded under the article it duplicates
            store.add(copy.duplicate_of, aliases=(copy.canonical_url, *copy.aliases))
        else:  # that article's file was skipped: it must stay new, so the copy's URLs stand alone
            store.add(copy.canonical_url, aliases=copy.aliases)
        summary.dropped_copies += 1
        pending += 1
        if pending >= commit_every:
            store.commit()
            pending = 0
    store.commit()
    return summary


def rebuild(uri: str, root: Path, *, prefix: str | None = None, force: bool = False,
            progress: Progress | None = None, commit_every: int = COMMIT_EVERY) -> RebuildSummary:
    """Rebuild the state at ``uri`` (SQLite path or ``redis://``) from the output directory ``root``.

    Raises :class:`StateExists` when a readable state is there and ``force`` is False, ManifestError
    when the manifest itself cannot be read. The caller holds the crawl's lock.
    """
    root = Path(root)
    if not force:
        try:
            existing = check_state(uri, prefix=prefix)
        except StateUnreadable:
            existing = False  # nothing worth keeping: it is what a rebuild is for
        if existing:
            raise StateExists(f"a readable state is already at {uri}; give --force to replace it")
    read_manifest(root)  # a manifest that cannot be read fails here, before anything is built
    started = time.monotonic()
    if is_redis(uri):
        summary = _rebuild_redis(uri, root, prefix or DEFAULT_PREFIX, progress, commit_every)
    else:
        summary = _rebuild_sqlite(Path(uri), root, progress, commit_every)
    summary.seconds = time.monotonic() - started
    return summary


# -- SQLite: a temporary file beside the state, renamed over it -------------------------------------
def _rebuild_sqlite(path: Path, root: Path, progress: Progress | None, commit_every: int) -> RebuildSummary:
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_builds(path.parent)
    tmp = temp_path(path)
    os.close(create_new(tmp, 0o600))  # empty: SQLite makes it a new database (never through a planted link)
    summary = RebuildSummary(str(path))
    try:
        store = open_state(str(tmp))
        try:
            replay(store, root, summary, progress, commit_every)
        finally:
            store.close()  # the last connection checkpoints the WAL into the file and removes it
        _fsync(tmp)
        # the old state's WAL must not be applied to the new file: remove it before the switch
        for suffix in ("-wal", "-shm", "-journal"):
            _unlink(Path(f"{path}{suffix}"))
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            _unlink(leftover)
    return summary


def _clean_stale_builds(directory: Path) -> None:
    """Remove what a killed rebuild left: its temporary file (and that file's WAL and shared memory)."""
    clean_stale_temps(directory)
    for name in os.listdir(directory):
        for suffix in ("-wal", "-shm"):
            if name.endswith(".tmp" + suffix) and not (directory / name[: -len(suffix)]).exists():
                _unlink(directory / name)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# -- Redis: a temporary prefix, renamed over the state's keys in one transaction ---------------------
STATE_KINDS = ("doc", "u", "f", "b", "m")
"""Key families of the dedupe state under a prefix (``pipelines.state.redis_keys``): documents, URL,
fingerprint and band buckets, what is remembered per URL (not-article pages from the journal; re-check
times are not in the output and start afresh); plus the single keys below. Crawl keys (queues, leases,
rounds) are others."""
STATE_SINGLE_KEYS = ("count", "docid", "live")


# One script, so the switch is atomic (Redis runs nothing else meanwhile) and no key list travels to the
# client (a MULTI of 300,000 RENAMEs cost the rebuild ~200 MB at 100,000 articles).
# ARGV: mode ('switch': drop the state under the prefix, then move the temporary prefix's keys there;
# 'drop': only drop the temporary prefix's keys), temporary prefix, its SCAN pattern, prefix, its pattern,
# then the key families and the single key names.
SWITCH = r"""
local mode, tmp, tmp_pattern, P, pattern = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local kinds, singles = {}, {}
for k = 6, #ARGV do
  if ARGV[k]:sub(1, 1) == '+' then singles[#singles + 1] = ARGV[k]:sub(2) else kinds[#kinds + 1] = ARGV[k] end
end
local function each(pat, fn)
  for _, kind in ipairs(kinds) do
    local cursor = '0'
    repeat
      local r = redis.call('SCAN', cursor, 'MATCH', pat .. ':' .. kind .. ':*', 'COUNT', 1000)
      cursor = r[1]
      for _, key in ipairs(r[2]) do fn(key) end
    until cursor == '0'
  end
end
if mode == 'drop' then
  each(tmp_pattern, function(key) redis.call('UNLINK', key) end)
  for _, name in ipairs(singles) do redis.call('UNLINK', tmp .. ':' .. name) end
  return 0
end
each(pattern, function(key) redis.call('UNLINK', key) end)
for _, name in ipairs(singles) do redis.call('UNLINK', P .. ':' .. name) end
local moved = 0
each(tmp_pattern, function(key) redis.call('RENAME', key, P .. key:sub(#tmp + 1)); moved = moved + 1 end)
for _, name in ipairs(singles) do
  if redis.call('EXISTS', tmp .. ':' .. name) == 1 then redis.call('RENAME', tmp .. ':' .. name, P .. ':' .. name) end
end
return moved
"""


def _switch(client: redis.Redis, mode: str, tmp: str, prefix: str) -> int:
    """Run :data:`SWITCH` (``switch`` or ``drop``) for the temporary prefix ``tmp`` and the state's ``prefix``."""
    return int(client.eval(SWITCH, 0, mode, tmp, _escape(tmp), prefix, _escape(prefix), *STATE_KINDS,
                           *(f"+{name}" for name in STATE_SINGLE_KEYS)))


def _escape(prefix: str) -> str:
    """``prefix`` as a literal in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix)


def _rebuild_redis(url: str, root: Path, prefix: str, progress: Progress | None, commit_every: int) -> RebuildSummary:
    from pipelines.state.redis_store import RedisStore  # only a Redis rebuild loads the client

    tmp = f"{prefix}:rebuild-{secrets.token_hex(6)}"
    summary = RebuildSummary(f"{url} (prefix {prefix})")
    store = RedisStore(url, prefix=tmp, instance=f"rebuild-{os.getpid()}")
    client = store.client
    try:
        replay(store, root, summary, progress, commit_every)
        client.delete(RedisKeys(tmp).live)  # the rebuild's own heartbeat is no worker of the state
        _switch(client, "switch", tmp, prefix)  # readers see the old state or the new one, nothing between
    except BaseException:
        try:
            _switch(client, "drop", tmp, prefix)
        except Exception:  # noqa: BLE001 - Redis is gone: the first error is the one to report
            pass
        raise
    finally:
        store.close()
    return summary


def journal_time(value: str) -> datetime:
    """A journal line's ``seen_at`` as an aware datetime (now, when missing or unreadable)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return datetime.now(timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
