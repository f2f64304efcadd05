"""``autonews read`` under issue 21's attacks: an ack commits what was read, one reader per name, bad files set aside.

Each test runs the real CLI in a subprocess on an output directory the storage code wrote
(:class:`SealedFile` + :class:`Manifest`), then plants what a careless operator, a faulty machine
or a hostile writer of the output directory would.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import subprocess
from pathlib import Path

from pipelines.consumer.cursor import load_cursor
from pipelines.storage.manifest import Manifest, ManifestEntry
from pipelines.storage.sealed import SealedFile
from tests.conftest import REPO, autonews_cmd, run_cli

COMMIT_LINE = re.compile(r"commit with: autonews read --consumer (\S+) --output (\S+) --ack (\d+)$", re.M)
PAD = "x" * 400


def seal(out: Path, stem: str, records: int, pad: str = "") -> Path:
    """Seal a file of ``records`` small records under ``out`` (not listed yet)."""
    f = SealedFile(out / "articles" / "2026-11-21", stem)
    for n in range(records):
        f.write({"url": f"http://x.example/{stem}/{n}", "schema_version": 3, "text": pad})
    path = f.seal()
    assert path is not None
    return path


def publish(out: Path, stem: str, records: int, pad: str = "") -> ManifestEntry:
    """Seal a file of ``records`` small records under ``out`` and list it in the manifest."""
    [entry] = Manifest(out, 3).append([seal(out, stem, records, pad)])
    return entry


def cli_read(out: Path, consumer: str = "c", *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``autonews read --consumer NAME --output OUT ...``."""
    return run_cli("read", "--consumer", consumer, "--output", str(out), *extra, cwd=out.parent, timeout=timeout)


def delivered(result: subprocess.CompletedProcess[str]) -> tuple[list[str], int]:
    """The URLs a successful read printed and the seq it said to acknowledge."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    match = COMMIT_LINE.search(result.stderr)
    assert match, result.stderr
    return [json.loads(line)["url"] for line in result.stdout.splitlines()], int(match[3])


def manifest_line(entry: dict) -> bytes:
    """One manifest line for hand-made entries."""
    return (json.dumps(entry) + "\n").encode()


def plant_entry(out: Path, seq: int, name: str, size: int = 10, sha: str = "0" * 64, records: int = 1) -> None:
    """Append a manifest line naming ``name`` (whatever is there)."""
    with open(out / "manifest.jsonl", "ab") as fh:
        fh.write(manifest_line({"seq": seq, "file": name, "records": records, "bytes": size, "sha256": sha,
                                "run_id": "r", "sealed_at": "2026-11-21T10:00:00+00:00", "schema_version": 3}))


# --- finding 5: --ack commits what the caller processed -------------------------------------------


def test_the_cron_race_an_ack_commits_only_through_the_seq_the_caller_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 50)
    batch = tmp_path / "batch.jsonl"
    seq = delivered(cli_read(out, "c", "-o", str(batch)))[1]  # cron: read -o batch
    assert seq == 1
    assert batch.read_text().count("\n") == 50
    publish(out, "r-00002", 25)  # a crawl seals 25 more
    someone, later = delivered(cli_read(out, "c"))  # someone runs read | wc -l
    assert len(someone) == 75 and later == 2
    ack = cli_read(out, "c", "--ack", str(seq))  # cron acknowledges what it processed
    assert ack.returncode == 0 and ack.stdout == "" and "committed up to manifest seq 1" in ack.stderr
    assert load_cursor(out, "c").committed == 1
    rest, _ = delivered(cli_read(out, "c"))
    assert rest == someone[50:]  # the 25 still reach the extractor
    again = cli_read(out, "c", "--ack", "1")  # acknowledging again (or lower) changes nothing
    assert again.returncode == 0 and "already committed up to manifest seq 1" in again.stderr


def test_a_bare_ack_is_a_usage_error_naming_the_new_form(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 3)
    delivered(cli_read(out, "c"))
    result = cli_read(out, "c", "--ack")
    assert result.returncode == 2, result.stderr
    assert "autonews read --consumer c --ack SEQ" in result.stderr
    assert load_cursor(out, "c").committed == 0  # nothing committed
    for wrong in ("-1", "abc", "1.5", "²"):
        result = cli_read(out, "c", f"--ack={wrong}")
        assert result.returncode == 2 and "--ack SEQ" in result.stderr and "Traceback" not in result.stderr, wrong


def test_an_ack_beyond_the_manifest_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 2)
    publish(out, "r-00002", 2)
    result = cli_read(out, "c", "--ack", "3")
    assert result.returncode == 2
    assert "manifest seq 3 does not exist (the manifest ends at seq 2)" in result.stderr
    assert load_cursor(out, "c").committed == 0
    assert cli_read(out, "c", "--ack", "2").returncode == 0 and load_cursor(out, "c").committed == 2


def test_two_readers_of_one_name_at_once_the_second_exits_75(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 2000, PAD)  # ~900 KB: the first reader blocks on a full pipe, holding the lock
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # unbuffered: readline() takes one line only, communicate() the rest
    first = subprocess.Popen([*autonews_cmd(), "read", "--consumer", "c", "--output", str(out)], cwd=tmp_path,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    try:
        assert first.stdout is not None and first.stdout.readline()  # it is delivering, so it holds the lock
        second = cli_read(out, "c")
        assert second.returncode == 75, second.stderr
        assert f"consumer c is being read by another process (pid {first.pid})" in second.stderr
        assert second.stdout == ""
        ack = cli_read(out, "c", "--ack", "1")  # nor may anyone acknowledge meanwhile
        assert ack.returncode == 75 and load_cursor(out, "c").committed == 0
        other = cli_read(out, "other")  # another name is not held up
        assert other.returncode == 0 and other.stdout.count("\n") == 2000
        rest, stderr = first.communicate(timeout=60)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0 and rest.count(b"\n") == 1999, stderr
    assert len(delivered(cli_read(out, "c"))[0]) == 2000  # free again once the first has finished


# --- finding 6: a garbled manifest line is skipped, read goes on -----------------------------------


def test_a_garbled_manifest_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 2)
    with open(out / "manifest.jsonl", "ab") as fh:
        fh.write(b'{"seq": 2, "file": "articles/2026-11-21/lost.jsonl", "rec\n')  # garbled by a faulty disk
        fh.write(b"[" * 100_000 + b"\n")  # nested too deep for json (RecursionError)
    path = seal(out, "r-00002", 3)  # listed after them by hand (the writer's own handling is not tested here)
    data = path.read_bytes()
    plant_entry(out, 3, path.relative_to(out).as_posix(), len(data), hashlib.sha256(data).hexdigest(), 3)
    result = cli_read(out, "c")
    urls, seq = delivered(result)
    assert len(urls) == 5 and seq == 3
    assert "manifest line 2" in result.stderr and "manifest line 3: manifest line is nested too deep" in result.stderr
    assert "skipped: 2 garbled manifest line(s) (warnings above)" in result.stderr
    assert cli_read(out, "c", "--ack", str(seq)).returncode == 0
    quiet = cli_read(out, "c")  # lines this consumer has passed are not its concern any more
    assert delivered(quiet) == ([], 3) and "warning" not in quiet.stderr


# --- finding 7: files that are not what the manifest says ------------------------------------------


def test_a_fifo_named_by_the_manifest_or_as_the_cursor_never_blocks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 1)
    os.mkfifo(out / "articles" / "2026-11-21" / "fifo.jsonl")
    plant_entry(out, 2, "articles/2026-11-21/fifo.jsonl")
    publish(out, "r-00003", 1)
    result = cli_read(out, "c", timeout=30)
    urls, seq = delivered(result)
    assert len(urls) == 2 and seq == 3
    assert "fifo.jsonl (manifest seq 2) is a FIFO, not a regular file" in result.stderr

    (out / "consumers" / "d.json").unlink(missing_ok=True)
    os.mkfifo(out / "consumers" / "d.json")
    result = cli_read(out, "d", timeout=30)
    assert result.returncode == 1 and "d.json is a FIFO, not a regular file" in result.stderr
    assert "remove it" in result.stderr and result.stdout == ""
    result = cli_read(out, "d", "--ack", "1", timeout=30)
    assert result.returncode == 1 and "is a FIFO" in result.stderr

    os.mkfifo(out / "consumers" / "e.lock")  # the lock file
    result = cli_read(out, "e", timeout=30)
    assert result.returncode == 1 and "the lock file" in result.stderr and "is a FIFO" in result.stderr
    (out / "manifest.jsonl").unlink()  # the manifest itself
    os.mkfifo(out / "manifest.jsonl")
    result = cli_read(out, "f", timeout=30)
    assert result.returncode == 1 and "manifest.jsonl is a FIFO, not a regular file" in result.stderr


def test_a_directory_or_a_nul_in_a_manifest_path_is_skipped_per_entry(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 1)
    (out / "articles" / "2026-11-21" / "dir.jsonl").mkdir()
    plant_entry(out, 2, "articles/2026-11-21/dir.jsonl")
    plant_entry(out, 3, "articles/2026-11-21/a\x00b.jsonl")
    publish(out, "r-00004", 1)
    result = cli_read(out, "c")
    urls, seq = delivered(result)
    assert len(urls) == 2 and seq == 4
    assert "dir.jsonl (manifest seq 2) is a directory, not a regular file" in result.stderr
    assert "manifest seq 3 names a file with a NUL byte" in result.stderr
    assert "skipped: 2 file(s) (warnings above)" in result.stderr


def test_a_record_nested_too_deep_skips_its_file_without_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "out"
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    path = out / "articles" / "2026-11-21" / "deep.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(deep)
    plant_entry(out, 1, "articles/2026-11-21/deep.jsonl", len(deep), hashlib.sha256(deep).hexdigest())
    publish(out, "r-00002", 1)
    result = cli_read(out, "c")
    urls, seq = delivered(result)
    assert len(urls) == 1 and seq == 2 and "nested too deep" in result.stderr


def _limit_memory() -> None:
    """Run the reader with 1 GiB of address space: reading a 3 GiB file whole cannot pass unnoticed."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_an_oversized_sparse_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 1)
    folder = out / "articles" / "2026-11-21"
    for name in ("huge.jsonl", "liar.jsonl"):
        with open(folder / name, "wb") as fh:
            fh.truncate(3 << 30)  # 3 GiB, sparse: costs no disk
    plant_entry(out, 2, "articles/2026-11-21/huge.jsonl", size=3 << 30)  # listed with its true size
    plant_entry(out, 3, "articles/2026-11-21/liar.jsonl", size=100)  # listed as small
    publish(out, "r-00004", 1)
    result = run_cli("read", "--consumer", "c", "--output", str(out), cwd=tmp_path, timeout=60,
                     preexec_fn=_limit_memory)
    urls, seq = delivered(result)
    assert len(urls) == 2 and seq == 4
    assert f"huge.jsonl (manifest seq 2): {3 << 30} bytes, more than the" in result.stderr
    assert f"liar.jsonl (manifest seq 3) does not match its manifest line (is {3 << 30} bytes, not 100)" \
        in result.stderr


def test_a_closed_pipe_ends_the_read_quietly_with_status_141(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 2000, PAD)  # far more than a pipe holds
    result = subprocess.run(["sh", "-c", '"$0" read --consumer c --output "$1" | head -1', *autonews_cmd(), str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.stdout.count("\n") == 1 and json.loads(result.stdout)["url"].endswith("/0")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reader = subprocess.Popen([*autonews_cmd(), "read", "--consumer", "c", "--output", str(out)], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stdout.readline()
    reader.stdout.close()  # the downstream program went away
    stderr = reader.stderr.read() if reader.stderr else b""
    assert reader.wait(timeout=60) == 141, stderr
    assert stderr == b""
    assert load_cursor(out, "c").pending == 0  # an interrupted delivery is not recorded as delivered


# --- finding 4 (the cursor): never through a planted link; temporary files of dead savers removed ---


def test_a_cursor_planted_as_a_symlink_is_neither_read_nor_written_through(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 1)
    publish(out, "r-00002", 1)
    (out / "consumers").mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text('{"committed": 1, "pending": 1}\n')  # a position this consumer never reached
    (out / "consumers" / "c.json").symlink_to(victim)
    result = cli_read(out, "c")
    assert result.returncode == 1 and "c.json is a symbolic link, not a regular file" in result.stderr
    assert result.stdout == "" and victim.read_text() == '{"committed": 1, "pending": 1}\n'
    assert (out / "consumers" / "c.json").is_symlink()


def test_cursor_saves_never_write_through_a_link_at_a_temporary_name_and_clean_dead_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, "r-00001", 1)
    consumers = out / "consumers"
    consumers.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    dead = subprocess.Popen(["true"])  # a pid that has exited
    dead.wait()
    stale = [consumers / f".c.json.{dead.pid}.tmp", consumers / f".c.json.{dead.pid}.0a1b2c3d.tmp"]
    for path in stale:
        path.write_text("{}")
    alive = consumers / f".c.json.{os.getpid()}.0a1b2c3d.tmp"  # a save in progress is left alone
    alive.write_text("{}")
    # plant a link at the temporary name the reader's pid would give (sh execs the reader: same pid)
    script = 'ln -s "$2" "$1/.c.json.$$.tmp" && exec "$0" read --consumer c --output "$3"'
    result = subprocess.run(["sh", "-c", script, *autonews_cmd(), str(consumers), str(victim), str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert delivered(result)[1] == 1
    assert victim.read_text() == "precious\n"
    assert load_cursor(out, "c").pending == 1
    assert not any(path.exists() for path in stale) and alive.exists()


def test_the_readme_shell_recipe_reads_processes_and_acknowledges_what_it_read(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reading the output"):readme.index("### Updated articles")]
    [recipe] = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    out = tmp_path / "data"
    publish(out, "r-00001", 4)
    publish(out, "r-00002", 3)
    script = (recipe.replace("/data/autonews", str(out))
              .replace("process batch.jsonl", 'test "$(wc -l < batch.jsonl)" -eq 7'))  # "processing"
    script = re.sub(r"(?m)^autonews |(?<=&& )autonews ", f"{autonews_cmd()[0]} ", script)
    result = subprocess.run(["sh", "-e", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "up to manifest seq 2; commit with:" in result.stdout  # the `tail -1 read.log`
    assert load_cursor(out, "extractor").committed == 2
