"""Exit status and summary from crawl stats; the run lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli.lock import LockedError, RunLock
from crawler.extensions.runstatus import EXIT_FAILED, EXIT_OK, EXIT_OUTPUT, exit_status, failure_reasons, format_summary

GOOD = {"finish_reason": "finished", "autonews/discovery/requested": 3, "autonews/discovery/ok": 2,
        "downloader/response_count": 12, "autonews/written": 7}


def test_successful_crawl_exits_zero() -> None:
    assert exit_status(GOOD) == EXIT_OK
    assert "articles written: 7" in format_summary(GOOD)
    assert format_summary(GOOD).endswith("status: ok")


def test_zero_new_articles_is_still_success() -> None:
    assert exit_status({**GOOD, "autonews/written": 0}) == EXIT_OK


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"autonews/discovery/ok": 0}, "no source reachable"),
        ({"spider_exceptions/ValueError": 2}, "2 spider error(s)"),
        ({"finish_reason": "shutdown_by_error"}, "finish reason: shutdown_by_error"),
    ],
)
def test_failures_exit_non_zero(extra: dict, reason: str) -> None:
    stats = {**GOOD, **extra}
    assert exit_status(stats) == EXIT_FAILED
    assert reason in failure_reasons(stats)
    assert "FAILED" in format_summary(stats)


def test_unwritable_output_has_its_own_status() -> None:
    assert exit_status({**GOOD, "autonews/errors/storage": 1}) == EXIT_OUTPUT


def test_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    with RunLock(state):
        code = "import sys; from crawler.cli.lock import RunLock, LockedError\n" \
               f"try:\n    RunLock({str(state)!r}).acquire()\nexcept LockedError as e:\n    print(e); sys.exit(9)\n"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode == 9, other.stderr
        assert "another autonews crawl" in other.stdout
    RunLock(state).acquire().release()  # free again once released


def test_lock_in_same_process_is_refused(tmp_path: Path) -> None:
    first = RunLock(tmp_path / "s").acquire()
    with pytest.raises(LockedError):
        RunLock(tmp_path / "s").acquire()
    first.release()
