"""Run health, unit by unit: signals from a report entry, history (rounds merged), the judge, the exit status.

History here is made of report entries and signals built in the test: these check the rules
one at a time; tests/test_health_crawl.py checks the whole thing on seven real crawls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.cli.exitcodes import EXIT_FAILED, EXIT_HEALTH, EXIT_OK
from crawler.extensions.runstatus import exit_status, format_summary
from crawler.health.history import history_runs, load_reports, merge_round, source_entries
from crawler.health.judge import judge, summary
from crawler.health.signals import Signals, signals_of
from crawler.health.thresholds import Thresholds

T = Thresholds()
FULL = {"published": 1.0, "authors": 1.0, "title": 1.0, "description": 1.0, "image": 1.0}


def healthy(**changes: Any) -> Signals:
    """A run of a healthy source: 4 new pages, 4 articles, every field, 2,000 characters, 12 entries."""
    values: dict[str, Any] = dict(new_entries=4, article_yield=1.0, coverage=dict(FULL), text_length=2000.0,
                                  non_english=0.0, discovery_ok=1.0, discovery_pages=2, entries=12, pages=4, articles=4)
    values.update(changes)
    return Signals(**values)


def entry(written: int = 4, **changes: Any) -> dict[str, Any]:
    """A run-report source entry."""
    values: dict[str, Any] = {"pages": written, "new_entries": written, "written": written, "duplicates": 0,
                              "non_english": 0, "non_english_dropped": 0, "not_article": 0, "errors": {},
                              "discovery": {"ok": 1, "failed": 0, "entries": 10},
                              "fields": {f: written for f in FULL}, "text_length_median": 2000}
    values.update(changes)
    return values


def test_signals_from_a_report_entry() -> None:
    signals = signals_of(entry(4, fields={"published": 1, "authors": 4, "title": 4, "description": 0, "image": 2},
                               duplicates=1, pages=6, non_english=1), T.min_sample)
    assert signals.coverage == {"published": 0.25, "authors": 1.0, "title": 1.0, "description": 0.0, "image": 0.5}
    assert signals.article_yield == 5 / 6 and signals.non_english == 0.25
    assert signals.discovery_ok == 1.0 and signals.entries == 10 and signals.new_entries == 4


def test_small_samples_and_old_reports_measure_nothing() -> None:
    few = signals_of(entry(2), T.min_sample)  # two articles: one odd page must not raise an alarm
    assert few.article_yield is None and few.coverage["published"] is None and few.text_length is None
    old = signals_of({"pages": 5, "written": 5, "skipped": 0, "errors": {}, "degraded": False}, T.min_sample)
    assert old.coverage == {} and old.new_entries is None and old.entries is None and old.article_yield == 1.0


def test_new_until_min_runs_then_ok() -> None:
    assert judge(healthy(), [healthy()] * (T.min_runs - 1), T).status == "new"
    assert judge(healthy(), [healthy()] * T.min_runs, T).status == "ok"


def test_lost_dates_and_bylines_are_degraded_with_reasons() -> None:
    current = healthy(coverage={**FULL, "published": 0.0, "authors": 0.0})
    health = judge(current, [healthy()] * 6, T)
    assert health.status == "degraded"
    assert health.reasons == ["published coverage 100% → 0% (median of last 6 runs: 100%)",
                              "authors coverage 100% → 0% (median of last 6 runs: 100%)"]


def test_a_field_the_source_never_had_is_not_an_alarm() -> None:
    never = {**FULL, "image": 0.0}
    assert judge(healthy(coverage=never), [healthy(coverage=never)] * 6, T).status == "ok"


def test_a_dip_smaller_than_the_threshold_is_ok() -> None:
    assert judge(healthy(coverage={**FULL, "authors": 0.75}), [healthy()] * 6, T).status == "ok"


def test_median_resists_one_odd_run() -> None:
    history = [healthy()] * 5 + [healthy(coverage={**FULL, "published": 0.0})]
    assert judge(healthy(), history, T).status == "ok"  # the odd run does not move the usual
    health = judge(healthy(coverage={**FULL, "published": 0.0}), history, T)
    assert health.reasons == ["published coverage 0% → 0% (median of last 6 runs: 100%)"]


def test_half_the_text_fewer_entries_more_foreign_and_lower_yield() -> None:
    health = judge(healthy(text_length=700.0, entries=3, non_english=0.75, article_yield=0.5), [healthy()] * 6, T)
    assert health.status == "degraded"
    joined = "\n".join(health.reasons)
    assert "median text length 2,000 → 700 (median of last 6 runs: 2,000)" in joined
    assert "entries found 12 → 3" in joined and "non-English share 0% → 75%" in joined
    assert "article yield 100% → 50%" in joined


def test_no_article_at_all_is_broken_without_history() -> None:
    health = judge(healthy(articles=0, article_yield=0.0, pages=4), [], T)
    assert health.status == "broken" and health.reasons == ["no article from 4 new article pages"]


def test_discovery_failing_is_broken_and_a_partial_failure_degraded() -> None:
    assert judge(healthy(discovery_ok=0.0, discovery_pages=3, new_entries=0, pages=0, articles=0,
                         article_yield=None), [], T).status == "broken"
    health = judge(healthy(discovery_ok=0.5, discovery_pages=4), [healthy(discovery_pages=4)] * 6, T)
    assert health.status == "degraded" and health.reasons[0].startswith("discovery pages fetched and parsed 100% → 50%")


def quiet() -> Signals:
    """A run that found no new entry (feeds unchanged): nothing new to measure."""
    return healthy(new_entries=0, pages=0, articles=0, article_yield=None, coverage={}, text_length=None, non_english=None)


def test_a_feed_that_stops_is_degraded_after_three_runs_and_broken_after_six() -> None:
    publishing = [healthy()] * 4
    assert judge(quiet(), publishing + [quiet()], T).status == "ok"  # two quiet runs: could be a slow day
    health = judge(quiet(), publishing + [quiet()] * 2, T)
    assert health.status == "degraded"
    assert health.reasons == ["no new entry for 3 runs in a row (new entries in each of the 4 runs before)"]
    assert judge(quiet(), publishing + [quiet()] * 5, T).status == "broken"


def test_a_source_that_publishes_now_and_then_is_never_stale() -> None:
    sometimes = [healthy(), quiet(), healthy(), quiet(), healthy()]
    assert judge(quiet(), sometimes + [quiet()] * 4, T).status == "ok"


def test_partial_runs_skip_count_rules() -> None:
    history = [healthy()] * 4 + [quiet()] * 2
    assert judge(quiet(), history, T, partial=True).status == "ok"
    assert judge(healthy(entries=1), [healthy()] * 6, T, partial=True).status == "ok"


def test_thresholds_are_settings() -> None:
    from scrapy.settings import Settings

    t = Thresholds.from_settings(Settings({"AUTONEWS_HEALTH_MIN_RUNS": "2", "AUTONEWS_HEALTH_SHARE_CHANGE": "0.1"}))
    assert t.min_runs == 2 and t.share_change == 0.1 and t.window == T.window
    assert judge(healthy(coverage={**FULL, "authors": 0.75}), [healthy()] * 2, t).status == "degraded"


def test_summary_lists_sources_by_status() -> None:
    assert summary({"a": "ok", "b": "degraded", "c": "new"}) == {
        "status": "degraded", "broken": [], "degraded": ["b"], "new": ["c"], "ok": ["a"]}
    assert summary({"a": "new"})["status"] == "ok"


def write_report(runs: Path, run_id: str, sources: dict[str, Any], **extra: Any) -> None:
    runs.mkdir(parents=True, exist_ok=True)
    report = {"run_id": run_id, "start": run_id, "end": run_id, "finish_reason": "finished", "sources": sources, **extra}
    (runs / f"{run_id}.json").write_text(json.dumps(report), encoding="utf-8")


def test_history_skips_unfinished_and_unreadable_reports_and_merges_rounds(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_report(runs, "20260101T000000Z-a", {"s": entry(4)})
    write_report(runs, "20260101T010000Z-a", {"s": entry(1)}, finish_reason="shutdown")
    (runs / "20260101T020000Z-a.json").write_text("{torn", encoding="utf-8")
    # round 7: two workers, each saw part of the source
    write_report(runs, "20260101T030000Z-w1", {"s": entry(3, text_length_median=1000)}, stats={"autonews/distributed/round": 7})
    write_report(runs, "20260101T030001Z-w2", {"s": entry(1, text_length_median=3000)}, stats={"autonews/distributed/round": 7})
    write_report(runs, "20260101T040000Z-w1", {"s": entry(2)}, stats={"autonews/distributed/round": 8})
    reports = load_reports(runs)
    assert len(reports) == 5
    history = history_runs(reports, exclude_round=8)  # round 8 is the one still running
    assert [r.get("round") for r in history] == [None, 7]
    merged = source_entries(history, "s")[1]
    assert merged["written"] == 4 and merged["fields"]["published"] == 4 and merged["discovery"]["entries"] == 20
    assert merged["text_length_median"] == 1500  # weighted by written records: (3*1000 + 1*3000) / 4
    assert merge_round(reports[2:4])["workers"] == 2


def test_exit_status_and_summary_line_for_unhealthy_sources() -> None:
    stats = {"finish_reason": "finished", "autonews/health/degraded": 1, "autonews/health/broken": 0,
             "autonews/health/unhealthy": "fading degraded"}
    assert exit_status(stats) == EXIT_HEALTH == 4
    assert exit_status(stats, health_exit=0) == EXIT_OK  # AUTONEWS_HEALTH_EXIT_STATUS=0
    assert exit_status({**stats, "finish_reason": "shutdown_by_error"}) == EXIT_FAILED  # a failure wins
    assert format_summary(stats).splitlines()[-1] == "autonews: status: SOURCES NEED ATTENTION (fading degraded)"
