"""Run health on seven real crawls of a changing site (tests/servers/evolving_site.py).

Runs 1-6: every source healthy (``new`` until five earlier runs exist, then ``ok``), exit 0.
Run 7: ``fading``'s new articles carry no date and no author -> degraded, reasons naming the
``published`` and ``authors`` coverage, on stderr, exit status 4; ``steady`` stays ok; ``stale``,
whose feed brought no new entry in runs 5-7 after new entries in every run before, is flagged.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_reports


def test_six_healthy_runs_exit_zero_and_become_ok(seven_runs: list[subprocess.CompletedProcess[str]],
                                                   seven_runs_output: Path) -> None:
    reports = run_reports(seven_runs_output)
    assert len(reports) == 7
    for run, (result, report) in enumerate(zip(seven_runs[:6], reports[:6]), start=1):
        assert result.returncode == 0, (run, result.stderr)
        statuses = {name: s["health"]["status"] for name, s in report["sources"].items()}
        expected = "new" if run <= 5 else "ok"  # five earlier runs are needed before history is trusted
        assert statuses == {"steady": expected, "fading": expected, "stale": expected}, (run, report["sources"])
        assert report["health"]["status"] == "ok" and report["exit_status"] == 0
        # cron mail stays two lines when all is well
        assert result.stderr.strip().splitlines()[-1] == "autonews: status: ok", result.stderr
        assert len(result.stderr.strip().splitlines()) == 2, result.stderr
    assert all(r["sources"]["fading"]["written"] == 3 for r in reports)  # the articles still extract in run 7


def test_run_seven_flags_lost_dates_and_authors_and_a_stale_feed(seven_runs: list[subprocess.CompletedProcess[str]],
                                                                 seven_runs_output: Path) -> None:
    result, report = seven_runs[-1], run_reports(seven_runs_output)[-1]
    assert result.returncode == 4, result.stderr
    assert report["exit_status"] == 4 and report["finish_reason"] == "finished"
    sources = report["sources"]
    assert sources["steady"]["health"] == {"status": "ok", "reasons": []}

    fading = sources["fading"]["health"]
    assert fading["status"] == "degraded", fading
    assert "published coverage 100% → 0% (median of last 6 runs: 100%)" in fading["reasons"]
    assert "authors coverage 100% → 0% (median of last 6 runs: 100%)" in fading["reasons"]
    assert len(fading["reasons"]) == 2, fading  # title, text, language... did not move

    stale = sources["stale"]["health"]
    assert stale["status"] in ("degraded", "broken")
    assert stale["reasons"] == ["no new entry for 3 runs in a row (new entries in each of the 4 runs before)"]

    assert report["health"] == {"status": "degraded", "broken": [], "degraded": ["fading", "stale"], "new": [],
                                "ok": ["steady"]}
    # one ERROR line per unhealthy source, with its reasons, then the summary: what cron mails
    lines = result.stderr.strip().splitlines()
    fading_line = next(line for line in lines if "Source fading is degraded" in line)
    assert "published coverage 100% → 0%" in fading_line and "authors coverage" in fading_line
    assert any("Source stale is degraded: no new entry for 3 runs" in line for line in lines)
    assert lines[-1] == "autonews: status: SOURCES NEED ATTENTION (fading degraded, stale degraded)"
