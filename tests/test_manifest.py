"""The manifest of sealed files: one line per file, exactly once, in order, safe to share, paths checked."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from pipelines.state.backend import close_store
from pipelines.storage.manifest import Manifest, ManifestError, read_manifest
from pipelines.storage.pipeline import StoragePipeline
from pipelines.storage.sealed import SealedFile
from tests.test_storage import article


def sealed(root: Path, stem: str, lines: int, route: str = "articles") -> Path:
    """A published file of ``lines`` small records."""
    f = SealedFile(root / route / "2026-11-21", stem)
    for n in range(lines):
        f.write({"url": f"http://x.example/{stem}/{n}", "schema_version": 2})
    path = f.seal()
    assert path is not None
    return path


def test_append_lists_a_file_once_with_its_size_checksum_and_count(tmp_path: Path) -> None:
    path = sealed(tmp_path, "20261121T100000Z-w-1-00001", 3)
    manifest = Manifest(tmp_path, 2)
    [entry] = manifest.append([path])
    assert manifest.append([path]) == []  # already listed
    assert Manifest(tmp_path, 2).append([path]) == []  # also for another writer
    data = path.read_bytes()
    assert (entry.seq, entry.file, entry.records) == (1, "articles/2026-11-21/20261121T100000Z-w-1-00001.jsonl", 3)
    assert (entry.bytes, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (entry.run_id, entry.schema_version) == ("20261121T100000Z-w-1", 2)
    assert read_manifest(tmp_path) == [entry]


def test_a_torn_last_line_is_ignored_by_readers_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    first, second = sealed(tmp_path, "r-00001", 1), sealed(tmp_path, "r-00002", 2)
    Manifest(tmp_path, 2).append([first])
    with open(tmp_path / "manifest.jsonl", "ab") as fh:
        fh.write(b'{"seq": 2, "file": "articles/2026-')  # a writer killed mid-line
    assert [e.seq for e in read_manifest(tmp_path)] == [1]
    Manifest(tmp_path, 2).append([second])
    lines = (tmp_path / "manifest.jsonl").read_bytes().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2]


def test_repair_lists_what_a_crash_left_unlisted_exactly_once(tmp_path: Path) -> None:
    listed, orphan = sealed(tmp_path, "r-00001", 1), sealed(tmp_path, "r-00002", 1)
    foreign = sealed(tmp_path, "r-00003", 1, route="articles-non-english")
    Manifest(tmp_path, 2).append([listed])
    added = Manifest(tmp_path, 2).repair()
    assert [e.file for e in added] == ["articles/2026-11-21/r-00002.jsonl", "articles-non-english/2026-11-21/r-00003.jsonl"]
    assert Manifest(tmp_path, 2).repair() == []
    assert [e.seq for e in read_manifest(tmp_path)] == [1, 2, 3]
    assert orphan.exists() and foreign.exists()


def _append_many(root: str, stems: list[str]) -> None:
    manifest = Manifest(Path(root), 2)
    for stem in stems:
        manifest.append([Path(root) / "articles" / "2026-11-21" / f"{stem}.jsonl"])
        manifest.repair()  # a repair racing the other writers must not list a file twice either


def test_processes_sharing_a_directory_append_safely(tmp_path: Path) -> None:
    stems = [[f"w{w}-{n:05d}" for n in range(15)] for w in range(4)]
    for group in stems:
        for stem in group:
            sealed(tmp_path, stem, 2)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), group)) for group in stems]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    entries = read_manifest(tmp_path)
    assert [e.seq for e in entries] == list(range(1, 61))
    assert sorted(e.file for e in entries) == sorted(f"articles/2026-11-21/{s}.jsonl" for g in stems for s in g)


@pytest.mark.parametrize("name", ["../outside.jsonl", "/etc/passwd.jsonl", "articles/../../x.jsonl", "link/x.jsonl",
                                  "articles/2026-11-21/notes.txt"])
def test_a_line_naming_a_path_outside_the_output_is_refused(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere")
    line = {"seq": 1, "file": name, "records": 1, "bytes": 1, "sha256": "0" * 64, "run_id": "r",
            "sealed_at": "2026-11-21T10:00:00+00:00", "schema_version": 2}
    (out / "manifest.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(ManifestError):
        read_manifest(out)


def test_storage_lists_each_sealed_file_and_repairs_a_crash_after_publish(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    settings = {"AUTONEWS_OUTPUT_DIR": str(out), "AUTONEWS_STATE": str(out / "state.sqlite3"),
                "AUTONEWS_SEAL_EVERY_ITEMS": 2}
    crawler = get_crawler(settings_dict=settings)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    for n in range(3):
        storage.process_item(article(n, canonical_url=f"http://news.example/2026/{n}/", fingerprint="ab" * 16))
    # the process dies between publishing the last file and listing it
    monkeypatch.setattr(storage.manifest, "append", lambda paths, sealed_at=None: [])
    storage.close_spider()
    close_store(crawler)
    assert len(read_manifest(out)) == 1 and len(list(out.glob("articles/*/*.jsonl"))) == 2
    crawler = get_crawler(settings_dict=settings)
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.close_spider()
    close_store(crawler)
    entries = read_manifest(out)
    assert sorted(e.file for e in entries) == sorted(p.relative_to(out).as_posix() for p in out.glob("articles/*/*.jsonl"))
    assert [e.records for e in entries] == [2, 1]
    assert crawler.stats.get_value("autonews/manifest/repaired") == 1


def test_routed_non_english_files_are_listed_under_their_own_path(tmp_path: Path) -> None:
    out = tmp_path / "out"
    crawler = get_crawler(settings_dict={"AUTONEWS_OUTPUT_DIR": str(out), "AUTONEWS_STATE": str(out / "s.sqlite3")})
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    storage.process_item(article(1, route="non-english", language="de", fingerprint="cd" * 16,
                                 canonical_url="http://news.example/2026/1/"))
    storage.process_item(article(2, fingerprint="ef" * 16, canonical_url="http://news.example/2026/2/"))
    storage.close_spider()
    close_store(crawler)
    files = sorted(e.file.split("/")[0] for e in read_manifest(out))
    assert files == ["articles", "articles-non-english"]


def test_a_damaged_manifest_line_is_skipped_and_counted_and_the_crawl_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").write_text('{"seq": 1, "file": "../../etc/passwd"}\nnot json\n' + "[" * 100_000 + "\n")
    crawler = get_crawler(settings_dict={"AUTONEWS_OUTPUT_DIR": str(out), "AUTONEWS_STATE": str(out / "s.sqlite3")})
    storage = StoragePipeline.from_crawler(crawler)
    storage.open_spider()
    assert not storage.broken and crawler.stats.get_value("autonews/errors/manifest_line") == 3
    storage.process_item(article(1, fingerprint="ab" * 16, canonical_url="http://news.example/2026/1/"))
    storage.close_spider()
    close_store(crawler)
    assert [(e.seq, e.records) for e in read_manifest(out)] == [(1, 1)]  # listed after the skipped lines
    assert crawler.stats.get_value("autonews/errors/manifest_line") == 3  # each counted once
