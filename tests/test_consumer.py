"""Consumers: ``autonews read`` and the Python API deliver sealed records at least once, in manifest order."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from crawler.demo.generate import generate_site
from crawler.demo.server import DemoServer
from pipelines.consumer.cursor import CursorError, load_cursor
from pipelines.consumer.reader import Consumer
from pipelines.storage.manifest import read_manifest
from tests.conftest import REPO, check_manifest_matches_files, crawl_args, run_cli, sealed_records
from tests.test_manifest import sealed


COMMIT_LINE = re.compile(r"commit with: autonews read --consumer (\S+)(?: --output \S+)? --ack (\d+)$", re.M)


def read_seq(out: Path, consumer: str, *extra: str) -> tuple[list[dict], int]:
    """``autonews read --consumer NAME`` on ``out``: the records printed and the seq it says to acknowledge."""
    result = run_cli("read", "--consumer", consumer, "--output", str(out), *extra, cwd=out.parent)
    assert result.returncode == 0, result.stderr
    match = COMMIT_LINE.search(result.stderr)
    assert match and match[1] == consumer, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], int(match[2])


def read(out: Path, consumer: str, *extra: str) -> list[dict]:
    """``autonews read --consumer NAME`` on ``out``: the records printed (the command must succeed)."""
    return read_seq(out, consumer, *extra)[0]


def ack(out: Path, consumer: str, seq: int) -> None:
    """``autonews read --consumer NAME --ack SEQ`` (must succeed and print nothing on stdout)."""
    result = run_cli("read", "--consumer", consumer, "--output", str(out), "--ack", str(seq), cwd=out.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.fixture
def growing_site(tmp_path: Path) -> Iterator[tuple[Path, DemoServer]]:
    """A synthetic site of 10 articles (regenerate it with 15: the first 10 stay the same)."""
    root = tmp_path / "site"
    registry = generate_site(root, 10)
    with DemoServer(root=root) as server:
        yield registry, server


def test_consumers_get_each_record_until_acknowledged_then_only_new_ones(growing_site: tuple[Path, DemoServer],
                                                                          tmp_path: Path) -> None:
    registry, server = growing_site
    out = tmp_path / "out"
    first = run_cli(*crawl_args(registry, server.base_url, out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    delivered, seq = read_seq(out, "a")
    assert len(delivered) == 10
    assert read_seq(out, "a") == (delivered, seq)  # not acknowledged: the same records again
    ack(out, "a", seq)
    assert read_seq(out, "a") == ([], seq)  # nothing new; acknowledging the same seq again changes nothing

    generate_site(registry.parent, 15)  # five new articles, listed in the sitemap
    second = run_cli(*crawl_args(registry, server.base_url, out), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    new = read(out, "a")
    old_urls = {r["canonical_url"] for r in delivered}
    assert len(new) == 5 and not old_urls & {r["canonical_url"] for r in new}
    everything = read(out, "b")
    assert len(everything) == 15 and {r["canonical_url"] for r in everything} == old_urls | {r["canonical_url"] for r in new}
    check_manifest_matches_files(out)
    # -o FILE writes the same lines
    target = tmp_path / "b.jsonl"
    assert read(out, "b", "-o", str(target)) == []
    assert [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines()] == everything


def test_python_api_batches_per_file_and_acknowledges_each(tmp_path: Path) -> None:
    from pipelines.storage.manifest import Manifest

    paths = [sealed(tmp_path, f"r-{n:05d}", n + 1) for n in range(3)]
    Manifest(tmp_path, 2).append(paths)
    consumer = Consumer(tmp_path, "api")
    batches = list(consumer.batches())
    assert [(b.seq, len(b.records)) for b in batches] == [(1, 1), (2, 2), (3, 3)]
    assert batches[1].entry.file == "articles/2026-11-21/r-00001.jsonl"
    consumer.ack(batches[0])
    assert [b.seq for b in consumer.batches()] == [2, 3]  # acknowledged files are not delivered again
    consumer.ack(batches[2])
    assert list(consumer.batches()) == []
    assert load_cursor(tmp_path, "api").committed == 3
    cursor = json.loads((tmp_path / "consumers" / "api.json").read_text())
    assert (cursor["consumer"], cursor["committed"]) == ("api", 3)
    # no temp file left: the cursor and the consumer's lock file only
    assert sorted(p.name for p in (tmp_path / "consumers").iterdir()) == ["api.json", "api.lock"]


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "..", "x" * 129, "naïve", "a b"])
def test_consumer_names_are_validated(tmp_path: Path, name: str) -> None:
    with pytest.raises(CursorError):
        Consumer(tmp_path, name)
    result = run_cli("read", "--consumer", name, "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "invalid consumer name" in result.stderr
    assert not (tmp_path / "consumers").exists() and not (tmp_path.parent / "evil.json").exists()


def test_a_file_changed_after_sealing_or_a_hostile_manifest_is_refused(tmp_path: Path) -> None:
    from pipelines.storage.manifest import Manifest

    root, tmp_path = tmp_path, tmp_path / "out"
    path = sealed(tmp_path, "r-00001", 2)
    Manifest(tmp_path, 2).append([path])
    with open(path, "ab") as fh:
        fh.write(b'{"url": "smuggled"}\n')
    consumer = Consumer(tmp_path, "c")
    assert list(consumer.batches()) == []  # set aside, not delivered
    [skipped] = consumer.skipped
    assert skipped.seq == 1 and "does not match its manifest line" in skipped.reason
    result = run_cli("read", "--consumer", "c", "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert "does not match its manifest line" in result.stderr and "skipped: 1 file(s)" in result.stderr
    assert load_cursor(tmp_path, "c").committed == 0  # nothing committed until acknowledged

    secret = root / "secret.jsonl"
    secret.write_text('{"x": 1}\n')
    line = {"seq": 2, "file": "../secret.jsonl", "records": 1, "bytes": 9,
            "sha256": hashlib.sha256(b'{"x": 1}\n').hexdigest(), "run_id": "r", "sealed_at": "2026-11-21T10:00:00+00:00",
            "schema_version": 2}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(line) + "\n")
    result = run_cli("read", "--consumer", "d", "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0 and "outside the output directory" in result.stderr and result.stdout == ""
    assert "skipped" in result.stderr and "Traceback" not in result.stderr


def test_symlinks_out_of_the_output_directory_are_not_written_through(tmp_path: Path) -> None:
    from pipelines.storage.manifest import Manifest

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "consumers").symlink_to(elsewhere)
    with pytest.raises(CursorError):
        Consumer(out, "c").ack(1)
    (out / "manifest.jsonl").symlink_to(elsewhere / "victim.jsonl")
    path = sealed(out, "r-00001", 1)
    with pytest.raises(OSError):
        Manifest(out, 2).append([path])
    assert list(elsewhere.iterdir()) == []


def readme_python_example() -> str:
    """The ``python`` code block of the README's "Reading the output" section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reading the output"):readme.index("### Updated articles")]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_the_readme_reading_example_runs_on_a_crawl_output(growing_site: tuple[Path, DemoServer],
                                                           tmp_path: Path) -> None:
    registry, server = growing_site
    out = tmp_path / "output"  # the example reads ./output, the default of `autonews crawl`
    crawl = run_cli(*crawl_args(registry, server.base_url, out), cwd=tmp_path)
    assert crawl.returncode == 0, crawl.stderr
    code = readme_python_example()
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    entries = {e.seq: e for e in read_manifest(out)}
    lines = [line.split(" ", 3) for line in run.stdout.splitlines()]
    by_url = {r["canonical_url"]: r for r in sealed_records(out)}
    assert len(lines) == len(by_url) == 10
    for seq, file, url, title in lines:
        assert entries[int(seq)].file == file and by_url[url]["title"] == title
    assert load_cursor(out, "extractor").committed == max(entries)  # every batch acknowledged
    again = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == ""  # nothing new

    with open(out / "manifest.jsonl", "ab") as fh:  # set aside, reported through consumer.skipped
        fh.write(b"not json\n")
    (out / "articles" / "dir.jsonl").mkdir()
    line = {**asdict(entries[max(entries)]), "seq": max(entries) + 1, "file": "articles/dir.jsonl"}
    with open(out / "manifest.jsonl", "ab") as fh:
        fh.write((json.dumps(line) + "\n").encode())
    bad = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 0, bad.stderr
    skipped = bad.stdout.splitlines()
    assert len(skipped) == 2 and skipped[0].startswith("skipped: None None manifest line")
    assert skipped[1].startswith(f"skipped: {max(entries) + 1} articles/dir.jsonl ") and "is a directory" in skipped[1]


def test_the_python_api_imports_from_the_package_and_entries_read_like_manifest_lines(tmp_path: Path) -> None:
    from pipelines.consumer import AckError, Batch, Consumer as Exported, ConsumerBusy, Entry
    from pipelines.storage.manifest import Manifest, ManifestEntry

    assert Exported is Consumer
    Manifest(tmp_path, 2).append([sealed(tmp_path, "r-00001", 2), sealed(tmp_path, "r-00002", 1)])
    consumer = Consumer(tmp_path, "api")
    [first, second] = consumer.batches()
    assert isinstance(first, Batch) and isinstance(first.entry, Entry) and isinstance(first.entry, ManifestEntry)
    line = json.loads((tmp_path / "manifest.jsonl").read_bytes().splitlines()[0])
    assert first.entry.as_dict() == line  # "the manifest line", as a dict
    assert first.entry["seq"] == first.entry.seq == 1 and first.entry["file"] == line["file"]
    with pytest.raises(KeyError):
        first.entry["records_"]
    with pytest.raises(AckError):
        consumer.ack(3)  # beyond the manifest's last seq
    for wrong in (True, -1, "2"):
        with pytest.raises(AckError):
            consumer.ack(wrong)  # type: ignore[arg-type]
    assert consumer.ack(2) == 2 and consumer.ack(first) == 2  # an earlier batch changes nothing
    with Consumer(tmp_path, "api") as holder:
        with pytest.raises(ConsumerBusy):
            list(Consumer(tmp_path, "api").batches())
        with pytest.raises(ConsumerBusy):
            Consumer(tmp_path, "api").ack(second)
        assert holder.ack(second) == 2  # the holder itself may acknowledge (the lock is re-entrant)
    assert list(Consumer(tmp_path, "api").batches()) == []


@pytest.mark.parametrize("swap", ["fifo", "symlink"])
def test_a_name_swapped_after_the_check_is_neither_waited_for_nor_followed(tmp_path: Path, swap: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The race the ``lstat`` cannot see: the open itself must not block on a FIFO nor follow a link."""
    import pipelines.consumer.files as files

    regular = tmp_path / "regular.jsonl"
    regular.write_bytes(b"{}\n")
    name = tmp_path / "swapped.jsonl"
    if swap == "fifo":
        os.mkfifo(name)
    else:
        name.symlink_to(regular)
    real = os.lstat
    # what the lstat saw: a regular file (the name is swapped right after it)
    monkeypatch.setattr(files.os, "lstat", lambda path: real(regular) if Path(path) == name else real(path))
    outcome: dict[str, str] = {}

    def attempt() -> None:
        try:
            outcome["data"] = repr(files.read_regular(name, 3))
        except files.FileRefused as exc:
            outcome["refused"] = str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        with open(name, "wb"):  # let the blocked open return, then fail
            pass
        worker.join(10)
        pytest.fail("read_regular blocked opening a FIFO")
    assert "refused" in outcome, outcome
    assert ("replaced" if swap == "fifo" else "symbolic link") in outcome["refused"]
