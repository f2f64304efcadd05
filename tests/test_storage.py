"""StoragePipeline built with get_crawler: sealing, routing, state commits, unwritable output."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.demo.generate import article as synthetic
from pipelines.dedupe.pipeline import DedupePipeline
from pipelines.items import Article
from pipelines.record import validation_errors
from tests.conftest import make_article
from pipelines.state.backend import close_store
from pipelines.state.sqlite_store import SQLiteStore
from pipelines.storage.pipeline import StoragePipeline


def article(n: int, **extra: Any) -> Article:
    html = synthetic(random.Random(n), n)["paragraphs"]
    text = html.replace("<p>", "").replace("</p>", "")
    return make_article(f"http://news.example/2026/{n}/", text, source="site", title=f"Story {n}",
                        fetched_at="2026-11-21T10:00:00+00:00", **extra)


class FullDisk:
    """A file whose writes fail as on a full disk."""

    def write(self, data: str) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")

    def fileno(self) -> int:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


def make(tmp_path: Path, **settings: Any) -> tuple[Any, DedupePipeline, StoragePipeline]:
    crawler = get_crawler(settings_dict={"AUTONEWS_OUTPUT_DIR": str(tmp_path / "out"),
                                         "AUTONEWS_STATE": str(tmp_path / "out" / "state.sqlite3"), **settings})
    dedupe, storage = DedupePipeline.from_crawler(crawler), StoragePipeline.from_crawler(crawler)
    dedupe.open_spider()
    storage.open_spider()
    return crawler, dedupe, storage


def push(dedupe: DedupePipeline, storage: StoragePipeline, item: Article) -> dict[str, Any]:
    return storage.process_item(dedupe.process_item(item))


def test_files_are_sealed_every_n_articles_and_state_follows(tmp_path: Path) -> None:
    crawler, dedupe, storage = make(tmp_path, AUTONEWS_SEAL_EVERY_ITEMS=2)
    for n in range(5):
        push(dedupe, storage, article(n))
    day = tmp_path / "out" / "articles" / "2026-11-21"
    assert len(list(day.glob("*.jsonl"))) == 2 and len(list(day.glob("*.part"))) == 1
    storage.close_spider()
    close_store(crawler)
    files = sorted(day.glob("*.jsonl"))
    assert len(files) == 3 and not list(day.glob("*.part"))
    records = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert [r["title"] for r in records] == [f"Story {n}" for n in range(5)]
    assert all(validation_errors(r) == [] for r in records)
    store = SQLiteStore(tmp_path / "out" / "state.sqlite3")
    assert all(store.has_url(f"http://news.example/2026/{n}/") for n in range(5))
    store.close()
    assert crawler.stats.get_value("autonews/written") == 5


def test_route_policy_writes_a_separate_tree(tmp_path: Path) -> None:
    crawler, dedupe, storage = make(tmp_path)
    push(dedupe, storage, article(1, route="non-english", language="de"))
    storage.close_spider()
    close_store(crawler)
    [path] = (tmp_path / "out").glob("articles-non-english/2026-11-21/*.jsonl")
    assert "route" not in json.loads(path.read_text())  # routing is not part of the record


def test_uncommitted_state_is_rolled_back_when_output_breaks(tmp_path: Path) -> None:
    crawler, dedupe, storage = make(tmp_path, AUTONEWS_COMMIT_EVERY=100)
    push(dedupe, storage, article(1))
    storage.files[("", "2026-11-21")]._fh = FullDisk()
    with pytest.raises(DropItem):
        push(dedupe, storage, article(2))
    assert crawler.stats.get_value("autonews/errors/storage") == 1
    close_store(crawler)
    store = SQLiteStore(tmp_path / "out" / "state.sqlite3")
    assert not store.has_url("http://news.example/2026/1/")  # nothing recorded that is not durable
    store.close()
