"""The crawl's WARC archive (``AUTONEWS_WARC_ARCHIVE``): valid WARC/1.1 files listed in the manifest as
``kind: warc``, read back by ``backfill --warc`` into the same articles, re-extracted by ``--reextract``
into new versions after an extraction change, and recovered after a kill; ``autonews read`` skips them."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEMO, free_demo_port, run_cli, sealed_records
from pipelines.storage.manifest import Manifest, read_manifest
from pipelines.storage.warcarchive import Exchange, WarcArchive, recover_warc_parts

NO_POOL = ("-s", "AUTONEWS_POOL_PROCESSES=0")

# Runs the CLI with an extraction that appends a correction to the text of the Leapmotor stories:
# a stand-in for a newer extraction, in a subprocess only (no setting in the product turns it on).
CHANGED_EXTRACTION = """
import sys
import pipelines.extract.article as article

original = article.extract_article

def changed(body, url, *args, **kwargs):
    fields = original(body, url, *args, **kwargs)
    if fields is not None and "leapmotor" in url:
        fields.text = fields.text + "\\nCorrection: an earlier version of this story misstated the date."
    return fields

article.extract_article = changed
from crawler.cli import main
sys.exit(main(sys.argv[1:]))
"""


def demo_registry(tmp_path: Path, port: str) -> Path:
    """The demo registry with ``{{BASE}}`` filled in, as ``crawl --demo`` uses it."""
    text = (DEMO / "sources.yaml").read_text(encoding="utf-8").replace("{{BASE}}", f"http://127.0.0.1:{port}")
    path = tmp_path / "demo-sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_archive_round_trip_and_reextract(tmp_path: Path) -> None:
    output = tmp_path / "out"
    port_args = free_demo_port()
    crawl = run_cli("crawl", "--demo", "--output", str(output), "-s", "AUTONEWS_WARC_ARCHIVE=True", *port_args,
                    *NO_POOL, cwd=tmp_path)
    assert crawl.returncode == 0, crawl.stderr
    crawled = {r["url"]: r for r in sealed_records(output)}
    assert crawled and all(r["warc"] is None for r in crawled.values())
    warcs = sorted(output.glob("warc/*/*.warc.gz"))
    assert warcs and not list(output.glob("warc/*/*.part"))
    for path in warcs:  # warcio's own check: structure and every digest
        check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", str(path)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout and "fail" not in check.stdout
    listed = [e for e in read_manifest(output) if e.kind == "warc"]
    assert sorted(output / e.file for e in listed) == warcs
    # `autonews read` still delivers article records only
    read = run_cli("read", "--consumer", "t", "--output", str(output), cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    delivered = [json.loads(line) for line in read.stdout.splitlines()]
    assert sorted(r["url"] for r in delivered) == sorted(crawled)

    registry = demo_registry(tmp_path, port_args[1].split("=")[1])
    fresh = tmp_path / "fresh"
    back = run_cli("backfill", "--warc", str(output / "warc"), "--sources", str(registry), "--output", str(fresh),
                   *NO_POOL, cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    backfilled = {r["url"]: r for r in sealed_records(fresh)}
    assert set(backfilled) == set(crawled)
    assert {u: r["text"] for u, r in backfilled.items()} == {u: r["text"] for u, r in crawled.items()}
    assert all(r["warc"]["file"].endswith(".warc.gz") for r in backfilled.values())

    # unchanged extraction: --reextract writes nothing
    same = run_cli("backfill", "--warc", str(output / "warc"), "--sources", str(registry), "--output", str(output),
                   "--reextract", *NO_POOL, cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "articles written: 0" in same.stderr
    assert len(sealed_records(output)) == len(crawled)

    script = tmp_path / "changed_extraction.py"
    script.write_text(CHANGED_EXTRACTION, encoding="utf-8")
    changed = subprocess.run([sys.executable, str(script), "backfill", "--warc", str(output / "warc"), "--sources",
                              str(registry), "--output", str(output), "--reextract", *NO_POOL],
                             cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert changed.returncode == 0, changed.stderr
    records = sealed_records(output)
    new = [r for r in records if r["version"] == 2]
    leap = {u for u in crawled if "leapmotor" in u}
    assert leap and {r["url"] for r in new} == leap
    for record in new:
        assert record["previous_fingerprint"] == crawled[record["url"]]["fingerprint"]
        assert record["text"].endswith("misstated the date.")
    assert len(records) == len(crawled) + len(leap)


def test_killed_archive_part_is_cut_after_its_last_whole_record_and_listed(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    manifest = Manifest(tmp_path, 4)
    archive = WarcArchive(tmp_path, "20260101T000000Z-w-1", manifest)
    for n in range(3):
        archive.write(Exchange(f"https://x.example/{n}", "GET", [("Host", "x.example")], 200, "OK",
                               [("Content-Type", "text/html")], b"<html>%d</html>" % n,
                               datetime(2026, 1, 1, tzinfo=timezone.utc)))
    part = next(tmp_path.glob("warc/*/*.warc.gz.part"))
    whole = part.read_bytes()
    archive.files.clear()  # a kill: the handle is dropped, nothing sealed (the lock goes with the process)
    part.write_bytes(whole + gzip.compress(b"WARC/1.1\r\n" + bytes(range(256)) * 40)[:100])  # a torn member
    assert recover_warc_parts(tmp_path, manifest) == 1
    sealed = next(tmp_path.glob("warc/*/*.warc.gz"))
    assert sealed.read_bytes() == whole
    from warcio.archiveiterator import ArchiveIterator

    with open(sealed, "rb") as fh:
        kinds = [r.rec_type for r in ArchiveIterator(fh)]
    assert kinds == ["warcinfo"] + ["response", "request"] * 3
    entry = read_manifest(tmp_path)[0]
    assert (entry.kind, entry.records, entry.bytes) == ("warc", 7, len(whole))
    assert json.loads(manifest.path.read_bytes().splitlines()[0])["kind"] == "warc"
