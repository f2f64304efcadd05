"""Recovery of killed runs' ``.part`` files in-process (pipelines.storage.recovery).

The kill tests recover through the CLI (a subprocess the mutation run cannot see). Here, for one state
of each kind: every leftover file is handled in turn (a link, a file still being written or a file
gone meanwhile never stops the others), recovered articles are recorded under their own keys (canonical
URL, aliases, fingerprint, signature), a dead worker's lines are kept exactly when nobody took their
article over (a later version only as that very version), and what was done is counted and logged.
"""

from __future__ import annotations

import fcntl
import json
import random
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from pipelines.dedupe.neardup import near_signature, text_fingerprint
from pipelines.state.redis_store import RedisStore
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.storage import recovery
from pipelines.storage.recovery import recover
from pipelines.state.store import NewVersion
from tests.test_distributed import redis_server, redis_url  # noqa: F401  (fixtures: one server, emptied per test)
from tests.test_output_safety import dead_pid

DAY = Path("articles") / "2026-11-20"


WORDS = ("plant battery model price dealer sales recall engine hybrid charger range factory union tariff "
         "supplier chip order fleet export quarter profit launch platform sedan truck").split()


def story(name: str, extra: str = "") -> str:
    """A distinct article text (random words, seeded by ``name``), long enough for a signature."""
    rng = random.Random(name)
    return " ".join(rng.choice(WORDS) for _ in range(150)) + extra


def record(url: str, text: str, canonical: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"url": url, "canonical_url": canonical or url, "text": text, "fingerprint": text_fingerprint(text),
            "fetched_at": "2026-11-20T10:00:00+00:00", **extra}


def part(root: Path, name: str, *lines: dict[str, Any], tail: bytes = b"") -> Path:
    path = root / DAY / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines) + tail)
    return path


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pipelines.storage.recovery"]


def test_own_parts_are_sealed_recorded_and_counted_one_after_another(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = part(tmp_path, "20261120T100000Z-w-1-00001.part")
    link.unlink()
    link.symlink_to(victim)  # first in name order: set aside, the others still recovered
    live = part(tmp_path, "20261120T100000Z-w-1-00002.part", record("https://a.example/live", story("live")))
    a = record("https://www.a.example/a", story("alpha"), canonical="https://a.example/a")
    b = record("https://a.example/b", story("beta"))
    torn = part(tmp_path, "20261120T100000Z-w-1-00003.part", a, b, tail=b'{"url": "https://a.example/torn"')
    c = record("https://a.example/c", story("gamma"))
    last = part(tmp_path, "20261120T100000Z-w-1-00004.part", c)
    # temporary files beside the parts: a killed recovery's (its process is gone) and a running one's
    stale = tmp_path / DAY / f".20261120T100000Z-w-1-00003.jsonl.{dead_pid()}.0123abcd.tmp"
    running = tmp_path / DAY / f".20261120T100000Z-w-1-00003.jsonl.{os.getpid()}.0123abcd.tmp"
    for temp in (stale, running):
        temp.write_text("x")
    store = SQLiteStore(tmp_path / "state.sqlite3")
    crawler = get_crawler()
    with open(live, "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # its writer is alive: left alone, the next ones recovered
        with caplog.at_level(logging.WARNING, logger="pipelines.storage.recovery"):
            recover(tmp_path, store, crawler.stats)
    store.close()
    assert victim.read_text() == "precious\n" and link.is_symlink() and live.exists()
    assert not stale.exists() and running.exists()
    sealed = torn.with_suffix(".jsonl")
    assert sealed.read_bytes() == b"".join(json.dumps(x).encode() + b"\n" for x in (a, b))
    assert last.with_suffix(".jsonl").exists() and not torn.exists() and not last.exists()
    stats = crawler.stats.get_stats()
    assert stats["autonews/recovered/files"] == 2 and stats["autonews/recovered/articles"] == 3
    assert stats["autonews/errors/bad_part"] == 1 and stats["autonews/errors/total"] == 1
    assert messages(caplog) == [
        f"Left {link} alone, not recovered: a symbolic link, not followed",
        f"Recovered 2 article(s) from an interrupted run: {sealed}",
        f"Recovered 1 article(s) from an interrupted run: {last.with_suffix('.jsonl')}",
    ]
    again = SQLiteStore(tmp_path / "state.sqlite3")  # recorded and committed
    try:
        assert again.find_url("https://a.example/a") == "https://a.example/a"
        assert again.find_url("https://a.example/b") == "https://a.example/b"
        assert again.find_url("https://a.example/c") == "https://a.example/c"
        assert not again.has_url("https://a.example/live") and not again.has_url("https://a.example/torn")
    finally:
        again.close()


def claim(store: RedisStore, url: str, text: str, **kw: Any) -> object:
    return store.claim(url, fingerprint=text_fingerprint(text), signature=near_signature(text), **kw)


def test_a_dead_workers_lines_are_kept_exactly_when_still_theirs(redis_url: str, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    dead = RedisStore(redis_url, instance="dead-1", timeout=60)
    other = RedisStore(redis_url, instance="w2-9", timeout=60)
    heir = RedisStore(redis_url, instance="heir-3", timeout=60)
    stores = [dead, other, heir]
    try:
        # what the dead worker claimed, then wrote to its .part before it was killed
        g1, g2_text = story("gamma"), story("gamma", " Correction: the plant opens in 2027.")
        k1, k2_text = story("kappa"), story("kappa", " Update: the union agreed.")
        assert claim(dead, "https://a.example/g", g1) is None
        assert claim(dead, "https://a.example/k", k1) is None
        dead.commit()  # an earlier file: g's and k's first versions are done
        copy = record("https://c.example/copy", story("omega"), duplicate_of="https://orig.example/omega")
        a = record("https://www.a.example/a", story("alpha"), canonical="https://a.example/a")
        assert claim(dead, "https://a.example/a", story("alpha"), aliases=["https://www.a.example/a"]) is None
        b = record("https://a.example/b", story("beta"))
        assert claim(dead, "https://a.example/b", story("beta")) is None
        assert claim(dead, "https://a.example/g", g2_text, update=True) == NewVersion("https://a.example/g", 2,
                                                                                      text_fingerprint(g1))
        assert claim(dead, "https://a.example/k", k2_text, update=True) == NewVersion("https://a.example/k", 2,
                                                                                      text_fingerprint(k1))
        g2 = record("https://a.example/g", g2_text, version=2, previous_fingerprint=text_fingerprint(g1))
        k2 = record("https://a.example/k", k2_text, version=2, previous_fingerprint=text_fingerprint(k1))
        d = record("https://www.a.example/d", story("delta"), canonical="https://a.example/d", version="2")  # version 1
        e = record("https://a.example/e", story("epsilon"))  # no version field: version 1
        n = {"url": "https://a.example/n", "canonical_url": "https://a.example/n"}  # no text (a foreign line)
        path = part(tmp_path, "20261120T100000Z-dead-1-00001.part", copy, a, b, g2, k2, d, e, n,
                    tail=b'{"url": "https://a.example/torn", "te')
        dead.forget_instance("dead-1")  # killed: its pending claims and staged versions are free for anyone
        # another worker took b over (its page had changed meanwhile) and wrote k's second version (another text)
        assert claim(other, "https://a.example/b", story("beta", " updated")) is None
        assert claim(other, "https://a.example/k", story("kappa", " Other."), update=True) == NewVersion("https://a.example/k", 2,
                                                                                           text_fingerprint(k1))
        other.commit()

        live_while_claiming: list[bool] = []
        real_claim = heir.claim

        def watched_claim(*args: Any, **kwargs: Any) -> object:
            live_while_claiming.append("dead-1" in heir.live_instances())  # adopted: nobody takes its claims meanwhile
            return real_claim(*args, **kwargs)

        heir.claim = watched_claim  # type: ignore[method-assign]
        crawler = get_crawler()
        with caplog.at_level(logging.WARNING, logger="pipelines.storage.recovery"):
            recover(tmp_path, heir, crawler.stats)
        assert live_while_claiming and all(live_while_claiming)
        sealed = path.with_suffix(".jsonl")
        kept = [copy, a, g2, d, e, n]
        assert sealed.read_bytes() == b"".join(json.dumps(x).encode() + b"\n" for x in kept)
        assert not path.exists()
        stats = crawler.stats.get_stats()
        assert stats["autonews/recovered/files"] == 1 and stats["autonews/recovered/articles"] == 6
        assert stats["autonews/distributed/recovery_dropped"] == 2
        assert messages(caplog) == [f"Recovered 6 of 8 article(s) of dead worker dead-1: {sealed}"]
        # recorded under their own keys, committed, and the dead instance not left alive
        fresh = RedisStore(redis_url, instance="reader-4", timeout=60)
        stores.append(fresh)
        assert fresh.find_url("https://a.example/a") == "https://a.example/a"
        assert fresh.find_url("https://www.a.example/a") == "https://a.example/a"  # its alias
        assert fresh.find_url("https://www.a.example/d") == "https://a.example/d"  # the line's own URL, an alias
        assert fresh.find_fingerprint(text_fingerprint(story("delta"))) == "https://a.example/d"
        assert fresh.find_fingerprint(text_fingerprint("")) == "https://a.example/n"
        near = near_signature(story("epsilon", " One more sentence about the epsilon plant."))
        assert near is not None and fresh.find_near(near) == "https://a.example/e"
        assert fresh.find_url("https://c.example/copy") is not None  # the kept copy's URL is seen too...
        assert fresh.find_fingerprint(text_fingerprint(story("omega"))) is None  # ...its text is its original's
        stored = fresh.find_article("https://a.example/g")
        assert stored is not None and (stored.version, stored.fingerprint) == (2, text_fingerprint(g2_text))
        taken = fresh.find_article("https://a.example/k")  # the other worker's version 2 stands; no version 3
        assert taken is not None and (taken.version, taken.fingerprint) == (2, text_fingerprint(story("kappa", " Other.")))
        kept_over = fresh.find_article("https://a.example/b")  # the other worker's text stands, no new version of it
        assert kept_over is not None and (kept_over.version, kept_over.fingerprint) == (
            1, text_fingerprint(story("beta", " updated")))
        assert "dead-1" not in fresh.live_instances()
    finally:
        for store in stores:
            store.close()


def test_a_dead_workers_lines_all_taken_over_leave_no_file(redis_url: str, tmp_path: Path) -> None:
    dead = RedisStore(redis_url, instance="dead-1", timeout=60)
    heir = RedisStore(redis_url, instance="heir-3", timeout=60)
    try:
        b = record("https://a.example/b", story("beta"))
        path = part(tmp_path, "20261120T100000Z-dead-1-00001.part", b)
        assert claim(heir, "https://a.example/b", story("beta")) is None
        heir.commit()
        crawler = get_crawler()
        recover(tmp_path, heir, crawler.stats)
        assert not path.exists() and not path.with_suffix(".jsonl").exists()
        assert crawler.stats.get_value("autonews/distributed/recovery_dropped") == 1
        assert crawler.stats.get_value("autonews/recovered/articles") == 0
    finally:
        dead.close()
        heir.close()


def test_only_dead_instances_files_are_recovered_each_in_turn(redis_url: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    alive = RedisStore(redis_url, instance="alive-5", timeout=60)
    heir = RedisStore(redis_url, instance="heir-3", timeout=60)
    try:
        alive.heartbeat()
        nameless = part(tmp_path, "garbage.part", record("https://a.example/n", story("nu")))  # no instance
        linked = part(tmp_path, "20261120T100000Z-dead-0-00001.part")
        linked.unlink()
        linked.symlink_to(tmp_path / "victim")
        (tmp_path / "victim").write_text("x\n")
        of_alive = part(tmp_path, "20261120T100000Z-alive-5-00001.part", record("https://a.example/l", story("lambda")))
        locked = part(tmp_path, "20261120T100000Z-dead-1-00001.part", record("https://a.example/k", story("kappa")))
        dead = part(tmp_path, "20261120T100000Z-dead-2-00001.part", record("https://a.example/m", story("mu")))
        gone = tmp_path / DAY / "20261120T100000Z-dead-1-00000.part"  # recovered by another worker meanwhile
        parts = recovery.leftover_parts(tmp_path)
        monkeypatch.setattr(recovery, "leftover_parts", lambda root: [gone, *parts])
        crawler = get_crawler()
        with open(locked, "rb") as other_recovery:
            fcntl.flock(other_recovery.fileno(), fcntl.LOCK_EX)  # another worker is recovering it right now
            recover(tmp_path, heir, crawler.stats)
        assert nameless.exists() and of_alive.exists() and locked.exists() and linked.is_symlink()
        assert not dead.exists() and dead.with_suffix(".jsonl").exists()
        assert crawler.stats.get_value("autonews/recovered/files") == 1
        assert crawler.stats.get_value("autonews/errors/bad_part") == 1
    finally:
        alive.close()
        heir.close()
