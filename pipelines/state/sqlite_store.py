"""SQLite backend of the dedupe state: one file, WAL mode, sized for ~1M articles.

Durability contract: ``add`` writes inside an open transaction that only ``commit``
ends (the storage pipeline commits after its lines are fsynced). Lookups on the same
connection see the uncommitted adds; other connections do not. ``close()`` rolls
back whatever was not committed. WAL lets readers (``autonews state stats``) look
while a crawl writes.

Layout (< 1 KB per article): URLs and fingerprints are stored as 64-bit hashes (a
collision among a few million keys has odds around 1e-7), band keys as 32-bit
integers in a WITHOUT ROWID table indexed for ``IN (...)`` lookups; only the
canonical URL is kept as text, once per article. Measured with
``tests.benchmarks/dedupe_scale.py`` (1M synthetic articles, 2 URLs each): the full check of
one article (3 URL, 1 fingerprint, 1 near lookup) takes 0.15 / 0.25 / 0.28 ms at
10k / 100k / 1M articles, 666 bytes on disk per article, inserts 1300-5300/s.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipelines.dedupe.neardup import NEAR_THRESHOLD, NearSignature, similarity
from pipelines.state.record_args import record_add_args
from pipelines.state.store import DUPLICATE_URL, ClaimResult, NewVersion, StoredArticle, find_duplicate

SCHEMA_VERSION = 2
PAGE_SIZE = 4096
MAX_NEAR_CANDIDATES = 32
"""Candidates verified per near-duplicate lookup, those sharing the most bands first."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    canonical TEXT NOT NULL,
    fp INTEGER,
    mins BLOB,
    first_seen INTEGER NOT NULL,
    fingerprint TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    checked REAL
);
CREATE INDEX IF NOT EXISTS docs_fp ON docs(fp) WHERE fp IS NOT NULL;
CREATE TABLE IF NOT EXISTS urls (h INTEGER PRIMARY KEY, doc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bands (h INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (h, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS prior_fps (h INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (h, doc)) WITHOUT ROWID;
"""
# Schema 1 -> 2 (versions of updated articles): the latest fingerprint in full, the version, the
# validators and the last fetch per article; the fingerprints of earlier versions.
_MIGRATE_2 = """
ALTER TABLE docs ADD COLUMN fingerprint TEXT;
ALTER TABLE docs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE docs ADD COLUMN etag TEXT;
ALTER TABLE docs ADD COLUMN last_modified TEXT;
ALTER TABLE docs ADD COLUMN checked REAL;
CREATE TABLE IF NOT EXISTS prior_fps (h INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (h, doc)) WITHOUT ROWID;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"""
_DOC_COLUMNS = "id, canonical, fp, fingerprint, version, etag, last_modified, first_seen, checked"


def _hash64(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _fp64(fingerprint: str) -> int:
    # The fingerprint is already a uniform hash: its first 64 bits are a fine key.
    return int.from_bytes(bytes.fromhex(fingerprint[:16]), "little", signed=True)


def refuse_links(path: str) -> None:
    """Raise OSError when the state file ``path`` or its ``-wal``/``-shm``/``-journal`` is a symbolic link.

    The default state lives in the output directory, which is untrusted: a link planted at the
    state's name would have SQLite turn its target (an empty file) into a database.
    """
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        if os.path.islink(name):
            raise OSError(errno.ELOOP, "a symbolic link, not followed (remove it, or give the real file with --state)",
                          name)


def _create_private(path: str) -> None:
    """Create the state file empty with mode 0600 unless it exists (an empty file is a new database to SQLite).

    SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files it creates the mode of the database
    file, so they are private too; creating the file first avoids changing the process umask,
    which other threads share. An existing file keeps the mode its owner gave it.

    A symbolic link at its name or a companion's is refused (:func:`refuse_links`).
    """
    refuse_links(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _fp_hex(fp: int | None) -> str | None:
    """The first 16 hex digits of a fingerprint back from its 64-bit key (articles stored before schema 2)."""
    return None if fp is None else fp.to_bytes(8, "little", signed=True).hex()


def _ts(moment: datetime | None) -> float | None:
    # sub-second: a run tells the articles it fetched itself from those of a run that ended a moment before
    return None if moment is None else round(moment.timestamp(), 3)



class SQLiteStore:
    """``DedupeStore`` in one SQLite file (WAL mode, synchronous=FULL). Use from one thread at a time."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 60.0, page_size: int = PAGE_SIZE) -> None:
        """Open (creating if needed) the state file at ``path``; ``":memory:"`` works for tests.

        ``page_size`` only applies to a new file.
        """
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
        # isolation_level=None: transactions are begun and ended explicitly below.
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        # Must precede the first table; ignored for an existing file.
        self._conn.execute(f"PRAGMA page_size={int(page_size)}")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        # 8 MiB of page cache (SQLite's default is 2): it lives in the crawl process and fills up as a grown
        # state is read, and 64 MiB cost that much resident memory for 0.004 ms a lookup at 100k articles
        # (tests.benchmarks.dedupe_scale: 0.059 vs 0.055 ms; at 1M articles 0.08 ms, peak RSS 36 MB).
        self._conn.execute("PRAGMA cache_size=-8192")
        # Only a new file gets the schema: writing to an existing one would wait for a
        # crawl's open write transaction, and readers (state stats) must not wait.
        if not self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs'").fetchone():
            self._conn.executescript(_SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif "version" not in {row[1] for row in self._conn.execute("PRAGMA table_info(docs)")}:
            self._conn.executescript(f"BEGIN IMMEDIATE; {_MIGRATE_2} COMMIT;")
        # claim savepoints by canonical URL since the last commit: release() undoes one claim exactly
        self._savepoints: dict[str, int] = {}
        self._savepoint_seq = 0
        self.closed = False

    def _begin(self) -> None:
        if not self._conn.in_transaction:
            # IMMEDIATE: take the write lock now (waiting up to timeout) rather than fail mid-run.
            self._conn.execute("BEGIN IMMEDIATE")

    def has_url(self, canonical: str) -> bool:
        """Return True when this canonical URL (or alias) was recorded."""
        return self._conn.execute("SELECT 1 FROM urls WHERE h = ?", (_hash64(canonical),)).fetchone() is not None

    def find_url(self, canonical: str) -> str | None:
        """Return the canonical URL of the article that owns this URL or alias, or None."""
        row = self._conn.execute(
            "SELECT d.canonical FROM urls u JOIN docs d ON d.id = u.doc WHERE u.h = ?", (_hash64(canonical),)
        ).fetchone()
        return row[0] if row else None

    def find_fingerprint(self, fp: str) -> str | None:
        """Return the canonical URL of the article with this text fingerprint, or None."""
        row = self._conn.execute(
            "SELECT canonical FROM docs WHERE fp = ? ORDER BY id LIMIT 1", (_fp64(fp),)
        ).fetchone()
        if row is None:  # an earlier version's text
            row = self._conn.execute(
                "SELECT d.canonical FROM prior_fps p JOIN docs d ON d.id = p.doc WHERE p.h = ? ORDER BY d.id LIMIT 1",
                (_fp64(fp),),
            ).fetchone()
        return row[0] if row else None

    def _doc(self, url: str) -> tuple | None:
        return self._conn.execute(
            f"SELECT {', '.join('d.' + c.strip() for c in _DOC_COLUMNS.split(','))} "
            "FROM urls u JOIN docs d ON d.id = u.doc WHERE u.h = ?", (_hash64(url),)
        ).fetchone()

    def find_article(self, url: str) -> StoredArticle | None:
        """Return what is stored about the article that owns this URL (or alias), or None."""
        row = self._doc(url)
        if row is None:
            return None
        _id, canonical, fp, fingerprint, version, etag, last_modified, first_seen, checked = row
        return StoredArticle(canonical, version, fingerprint or _fp_hex(fp), etag, last_modified,
                             datetime.fromtimestamp(first_seen, timezone.utc),
                             datetime.fromtimestamp(checked, timezone.utc) if checked is not None else None)

    def find_near(self, signature: NearSignature, threshold: float = NEAR_THRESHOLD) -> str | None:
        """Return the canonical URL of the most similar recorded article at or above ``threshold``, or None."""
        keys = sorted(set(signature.bands))
        marks = ",".join("?" * len(keys))
        candidates = self._conn.execute(
            f"SELECT doc FROM bands WHERE h IN ({marks}) GROUP BY doc ORDER BY count(*) DESC, doc LIMIT ?",
            (*keys, MAX_NEAR_CANDIDATES),
        ).fetchall()
        best: tuple[float, int, str] | None = None
        for (doc,) in candidates:
            row = self._conn.execute("SELECT canonical, mins FROM docs WHERE id = ?", (doc,)).fetchone()
            if row is None or row[1] is None:
                continue
            score = similarity(signature.mins, row[1])
            if score >= threshold and (best is None or (score, -doc) > (best[0], -best[1])):
                best = (score, doc, row[0])
        return best[2] if best else None

    def claim(self, canonical_url: str, *, aliases: Iterable[str] = (), fingerprint: str | None = None,
              signature: NearSignature | None = None, threshold: float = NEAR_THRESHOLD, update: bool = False,
              version: int = 0, etag: str | None = None, last_modified: str | None = None,
              checked: datetime | None = None) -> ClaimResult:
        """Check, then record (one writer at a time, so no race): see ``DedupeStore.claim``.

        A copy's URLs (not its text) are still recorded, so it is not fetched again and later
        copies keep matching the first-seen article.
        """
        self._begin()
        self._savepoint_seq += 1
        seq = self._savepoint_seq
        self._conn.execute(f"SAVEPOINT c{seq}")
        result = self._claim(canonical_url, tuple(aliases), fingerprint, signature, threshold, update, version,
                             etag, last_modified, checked or datetime.now(timezone.utc))
        if result is None or isinstance(result, NewVersion):
            self._savepoints[canonical_url] = seq  # to be written: release() may have to undo it
        else:
            self._conn.execute(f"RELEASE c{seq}")  # a copy is not written, so never released: keep the stack short
        return result

    def _claim(self, canonical_url: str, aliases: tuple[str, ...], fingerprint: str | None,
               signature: NearSignature | None, threshold: float, update: bool, version: int, etag: str | None,
               last_modified: str | None, checked: datetime) -> ClaimResult:
        """The check and the record of :meth:`claim`, inside its savepoint."""
        if update and fingerprint:
            row = self._doc(canonical_url)
            # a row without a fingerprint holds a copy's URLs, not an article's text: never versioned
            if row is not None and row[1] == canonical_url and row[2] is not None:
                doc, old_fp, old_text, old_version = row[0], row[2], row[3], row[4]
                self._begin()
                if old_fp == _fp64(fingerprint) or (version and version != old_version + 1):
                    # unchanged (or, in recovery, not the version that line was): remember the check only
                    self._conn.execute("UPDATE docs SET checked = ?, etag = coalesce(?, etag), "
                                       "last_modified = coalesce(?, last_modified) WHERE id = ?",
                                       (_ts(checked), etag, last_modified, doc))
                    self._link(doc, (canonical_url, *aliases))
                    return DUPLICATE_URL, canonical_url
                self._new_version(doc, old_fp, fingerprint, signature, old_version + 1, etag, last_modified, checked)
                self._link(doc, (canonical_url, *aliases))
                return NewVersion(canonical_url, old_version + 1, old_text or _fp_hex(old_fp))
        found = find_duplicate(self, (canonical_url, *aliases), fingerprint, signature, threshold)
        if found is None:
            self.add(canonical_url, aliases=aliases, fingerprint=fingerprint, signature=signature,
                     etag=etag, last_modified=last_modified, checked=checked)
        else:
            self.add(canonical_url, aliases=aliases)
        return found

    def _new_version(self, doc: int, old_fp: int | None, fingerprint: str, signature: NearSignature | None,
                     version: int, etag: str | None, last_modified: str | None, checked: datetime | None) -> None:
        """Make ``fingerprint`` the article's latest text; the earlier one stays findable (prior_fps)."""
        if old_fp is not None:
            self._conn.execute("INSERT OR IGNORE INTO prior_fps(h, doc) VALUES (?, ?)", (old_fp, doc))
        self._conn.execute(
            "UPDATE docs SET fp = ?, fingerprint = ?, mins = coalesce(?, mins), version = ?, "
            "etag = ?, last_modified = ?, checked = ? WHERE id = ?",
            (_fp64(fingerprint), fingerprint, signature.mins if signature else None, version, etag, last_modified,
             _ts(checked), doc),
        )
        if signature is not None:  # the earlier bands stay: copies of either text are near-duplicates
            self._conn.executemany("INSERT OR IGNORE INTO bands(h, doc) VALUES (?, ?)",
                                   [(h, doc) for h in set(signature.bands)])

    def _link(self, doc: int, urls: Iterable[str]) -> None:
        self._conn.executemany("INSERT OR IGNORE INTO urls(h, doc) VALUES (?, ?)",
                               [(_hash64(u), doc) for u in set(urls)])

    def add(
        self,
        canonical_url: str,
        *,
        aliases: Iterable[str] = (),
        fingerprint: str | None = None,
        signature: NearSignature | None = None,
        first_seen: datetime | None = None,
        version: int = 1,
        checked: datetime | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Record an article: its URLs, fingerprint and signature (uncommitted until :meth:`commit`).

        When ``canonical_url`` is already recorded, only the new aliases are added to it, unless
        ``version`` is higher than the stored one (recovery of an updated article's line): then the
        text keys become this version's.
        """
        self._begin()
        row = self._doc(canonical_url)
        if row is not None:
            doc = row[0]
            if fingerprint and version > row[4]:
                self._new_version(doc, row[2], fingerprint, signature, version, etag, last_modified,
                                  checked or first_seen)
        else:
            seen = int((first_seen or datetime.now(timezone.utc)).timestamp())
            cur = self._conn.execute(
                "INSERT INTO docs(canonical, fp, mins, first_seen, fingerprint, version, etag, last_modified, checked) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    canonical_url,
                    _fp64(fingerprint) if fingerprint else None,
                    signature.mins if signature else None,
                    seen,
                    fingerprint,
                    max(1, version),
                    etag,
                    last_modified,
                    _ts(checked or first_seen) or time.time(),
                ),
            )
            doc = cur.lastrowid
            if signature is not None:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO bands(h, doc) VALUES (?, ?)", [(h, doc) for h in set(signature.bands)]
                )
        urls = {canonical_url, *aliases}
        self._conn.executemany("INSERT OR IGNORE INTO urls(h, doc) VALUES (?, ?)", [(_hash64(u), doc) for u in urls])

    def add_record(self, record: dict) -> None:
        """Record an article from a written record (recovery of an interrupted run)."""
        canonical, kwargs = record_add_args(record)
        self.add(canonical, **kwargs)

    def release(self, canonical_url: str) -> None:
        """Undo the last claim of this article since the last commit (see ``DedupeStore.release``).

        Each claim opens a savepoint; rolling back to it undoes exactly that claim (new document,
        URLs, bands, or a staged version), as long as no later claim followed, which holds because
        an article goes from its claim to its write without yielding to another item. Should a
        later claim exist, it is undone too: its article is fetched again next run, never lost.
        """
        seq = self._savepoints.pop(canonical_url, None)
        if seq is None or not self._conn.in_transaction:
            return
        self._conn.execute(f"ROLLBACK TO c{seq}")
        self._conn.execute(f"RELEASE c{seq}")
        self._savepoints = {url: n for url, n in self._savepoints.items() if n < seq}

    def commit(self) -> None:
        """Make every add since the last commit durable (fsynced: synchronous=FULL)."""
        self._savepoints.clear()
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        """Forget every add since the last commit."""
        self._savepoints.clear()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Roll back uncommitted adds and close the connection; safe to call twice."""
        if self.closed:
            return
        self.rollback()
        self._conn.close()
        self.closed = True

    def stats(self) -> dict:
        """Return article, URL and band-row counts, first-seen range (ISO) and bytes on disk."""

        def one(sql: str) -> int | None:
            return self._conn.execute(sql).fetchone()[0]

        oldest, newest = self._conn.execute("SELECT min(first_seen), max(first_seen) FROM docs").fetchone()
        size = 0
        if self.path != ":memory:":
            size = sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))
        articles = one("SELECT count(*) FROM docs")
        return {
            "path": self.path,
            "articles": articles,
            "urls": one("SELECT count(*) FROM urls"),
            "fingerprints": one("SELECT count(*) FROM docs WHERE fp IS NOT NULL"),
            "signatures": one("SELECT count(*) FROM docs WHERE mins IS NOT NULL"),
            "band_rows": one("SELECT count(*) FROM bands"),
            "oldest": _iso(oldest),
            "newest": _iso(newest),
            "bytes": size,
            "bytes_per_article": round(size / articles) if articles else None,
        }

    def prune(self, older_than: timedelta) -> int:
        """Forget articles first seen more than ``older_than`` ago; return how many. Commits pending adds too."""
        cutoff = int(time.time() - older_than.total_seconds())
        self._begin()
        old = "SELECT id FROM docs WHERE first_seen < ?"
        self._conn.execute(f"DELETE FROM bands WHERE doc IN ({old})", (cutoff,))
        self._conn.execute(f"DELETE FROM urls WHERE doc IN ({old})", (cutoff,))
        self._conn.execute(f"DELETE FROM prior_fps WHERE doc IN ({old})", (cutoff,))
        removed = self._conn.execute("DELETE FROM docs WHERE first_seen < ?", (cutoff,)).rowcount
        self.commit()
        return removed


def _iso(ts: int | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts is not None else None
