"""Tests for the SQLite dedupe state (pipelines.state.store)."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from pipelines.dedupe.neardup import near_signature, text_fingerprint
from crawler.ages import parse_age
from pipelines.state.backend import close_store, open_store, prune_state, state_stats
from pipelines.state.redis_store import RedisStore
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.state.store import DedupeStore

TEXT = " ".join(f"word{i} sentence number {i} about cars and batteries" for i in range(60))
OTHER = " ".join(f"different story {i} on trucks tariffs and ports" for i in range(60))


def _add(store: SQLiteStore, url: str, text: str, **kw: object) -> None:
    store.add(url, fingerprint=text_fingerprint(text), signature=near_signature(text), **kw)


def protocol_methods() -> list[str]:
    """The public methods the DedupeStore protocol declares."""
    return [name for name, value in vars(DedupeStore).items() if callable(value) and not name.startswith("_")]


@pytest.mark.parametrize("store_class", [SQLiteStore, RedisStore])
def test_is_a_dedupe_store(tmp_path: Path, store_class: type) -> None:
    # isinstance on a runtime_checkable Protocol only checks that the names exist: check that every
    # declared parameter is accepted the same way (name, kind, default) and that anything the store adds
    # is optional, so a caller written against the protocol works with every backend.
    assert len(protocol_methods()) >= 8
    for name in protocol_methods():
        declared = inspect.signature(getattr(DedupeStore, name)).parameters
        actual = inspect.signature(getattr(store_class, name)).parameters
        where = (store_class.__name__, name)
        for param in declared.values():
            assert param.name in actual, (*where, param.name)
            mine = actual[param.name]
            assert (mine.kind, mine.default) == (param.kind, param.default), (*where, param.name)
        positional = [p.name for p in actual.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == [p.name for p in declared.values() if p.kind is p.POSITIONAL_OR_KEYWORD], where
        extra = [p for n, p in actual.items() if n not in declared]
        assert all(p.default is not p.empty for p in extra), where
    store = SQLiteStore(tmp_path / "s.sqlite3")
    assert isinstance(store, DedupeStore)
    store.close()


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.sqlite3"
    store = SQLiteStore(path)
    _add(store, "https://a.example/1", TEXT, aliases=["https://a.example/1?amp=1"])
    store.commit()
    store.close()

    store = SQLiteStore(path)
    assert store.has_url("https://a.example/1")
    assert store.has_url("https://a.example/1?amp=1")
    assert store.find_url("https://a.example/1?amp=1") == "https://a.example/1"
    assert not store.has_url("https://a.example/2")
    assert store.find_fingerprint(text_fingerprint(TEXT)) == "https://a.example/1"
    assert store.find_fingerprint(text_fingerprint(OTHER)) is None
    sig = near_signature(TEXT + " one more sentence")
    assert sig is not None
    assert store.find_near(sig) == "https://a.example/1"
    other = near_signature(OTHER)
    assert other is not None
    assert store.find_near(other) is None
    store.close()


def test_uncommitted_visible_in_connection_only(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    writer = SQLiteStore(path)
    reader = SQLiteStore(path)
    _add(writer, "https://a.example/1", TEXT)
    assert writer.has_url("https://a.example/1")
    assert writer.find_fingerprint(text_fingerprint(TEXT)) == "https://a.example/1"
    assert not reader.has_url("https://a.example/1")
    assert reader.find_fingerprint(text_fingerprint(TEXT)) is None
    writer.commit()
    assert reader.has_url("https://a.example/1")
    writer.close()
    reader.close()


def test_close_rolls_back_uncommitted(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    _add(store, "https://a.example/1", TEXT)
    store.commit()
    _add(store, "https://a.example/2", OTHER)
    store.close()
    store.close()  # idempotent
    store = SQLiteStore(path)
    assert store.has_url("https://a.example/1")
    assert not store.has_url("https://a.example/2")
    store.close()


def test_wal_reader_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    writer = SQLiteStore(path)
    _add(writer, "https://a.example/1", TEXT)
    writer.commit()
    _add(writer, "https://a.example/2", OTHER)  # write transaction left open
    plain = sqlite3.connect(path, timeout=0.1)
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # A reader neither blocks nor sees the open transaction.
    assert plain.execute("SELECT count(*) FROM docs").fetchone()[0] == 1
    assert state_stats(path)["articles"] == 1
    writer.commit()
    assert plain.execute("SELECT count(*) FROM docs").fetchone()[0] == 2
    plain.close()
    writer.close()


def test_add_existing_canonical_adds_aliases_only(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    _add(store, "https://a.example/1", TEXT)
    store.add("https://a.example/1", aliases=["https://m.a.example/1"])
    assert store.find_url("https://m.a.example/1") == "https://a.example/1"
    assert store.stats()["articles"] == 1
    store.close()


def test_prune_and_stats(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    old = datetime.now(timezone.utc) - timedelta(days=200)
    _add(store, "https://a.example/old", TEXT, first_seen=old, aliases=["https://a.example/old-alias"])
    _add(store, "https://a.example/new", OTHER)
    store.commit()
    stats = store.stats()
    assert stats["articles"] == 2
    assert stats["urls"] == 3
    assert stats["signatures"] == 2
    assert stats["band_rows"] > 0
    assert stats["oldest"] is not None and stats["oldest"] < stats["newest"]
    store.close()

    assert prune_state(path, parse_age("90d")) == 1
    store = SQLiteStore(path)
    assert not store.has_url("https://a.example/old")
    assert not store.has_url("https://a.example/old-alias")
    assert store.find_fingerprint(text_fingerprint(TEXT)) is None
    sig = near_signature(TEXT)
    assert sig is not None and store.find_near(sig) is None
    assert store.has_url("https://a.example/new")
    stats = store.stats()
    assert (stats["articles"], stats["urls"]) == (1, 1)
    assert store.prune(timedelta(days=90)) == 0
    store.close()


def test_missing_state_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        state_stats(tmp_path / "nope.sqlite3")
    with pytest.raises(FileNotFoundError):
        prune_state(tmp_path / "nope.sqlite3", timedelta(days=1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 1.5D ", timedelta(days=1.5)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "-3d", "3y", "3 days"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_age(text)


def test_open_store_one_per_crawler(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.sqlite3"
    crawler = get_crawler(settings_dict={"AUTONEWS_STATE": str(path)})
    store = open_store(crawler)
    assert open_store(crawler) is store
    assert path.exists()
    other = open_store(get_crawler(settings_dict={"AUTONEWS_STATE": str(path)}))
    assert other is not store
    close_store(crawler)
    assert getattr(store, "closed")
    close_store(crawler)  # idempotent
    assert open_store(crawler) is not store
    close_store(crawler)
    other.close()


def test_add_record_recovers_written_lines(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    record = {
        "url": "https://a.example/final?utm_source=x",
        "canonical_url": "https://a.example/canonical",
        "text": TEXT,
        "fingerprint": text_fingerprint(TEXT),
        "fetched_at": "2026-01-02T03:04:05+00:00",
    }
    store.add_record(record)
    store.add_record({"url": "https://b.example/copy", "canonical_url": "https://b.example/copy",
                      "text": TEXT + " tail", "duplicate_of": "https://a.example/canonical"})
    assert store.find_url("https://a.example/final") == "https://a.example/canonical"
    assert store.find_fingerprint(text_fingerprint(TEXT)) == "https://a.example/canonical"
    sig = near_signature(TEXT + " tail")
    assert sig is not None and store.find_near(sig) == "https://a.example/canonical"
    assert store.has_url("https://b.example/copy")
    assert store.stats()["oldest"] == "2026-01-02T03:04:05+00:00"
    store.close()
