"""Jittered starts of a backfill's readers (crawler/backfill/starts.py): one random delay per run."""
from __future__ import annotations

import random

import pytest

from crawler.backfill.starts import STAGGER, StartSchedule


@pytest.mark.parametrize("seed", range(20))
def test_first_files_wait_one_run_delay_then_a_short_stagger(seed: int) -> None:
    schedule = StartSchedule(3.0, 2, random.Random(seed))
    first, second = schedule.delay(0, True), schedule.delay(1, True)
    assert 0 <= first <= 3.0
    assert first <= second <= first + STAGGER  # the other reader follows, never more than STAGGER later


def test_later_files_open_at_once() -> None:
    schedule = StartSchedule(3.0, 2, random.Random(1))
    assert schedule.delay(0, True) > 0
    assert schedule.delay(0, False) == 0.0 and schedule.delay(1, False) == 0.0


def test_the_delay_is_drawn_per_run_not_per_call() -> None:
    schedule = StartSchedule(3.0, 2, random.Random(7))
    assert {schedule.delay(1, True) for _ in range(5)} == {schedule.delays[1]}
    runs = {StartSchedule(3.0, 1).delay(0, True) for _ in range(50)}
    assert len(runs) > 40 and max(runs) <= 3.0  # runs draw different delays: started together, spread out


def test_no_jitter_means_no_wait() -> None:
    schedule = StartSchedule(0.0, 3)
    assert [schedule.delay(n, True) for n in range(3)] == [0.0, 0.0, 0.0]


def test_small_jitter_bounds_the_stagger_too() -> None:
    for seed in range(20):
        schedule = StartSchedule(0.2, 2, random.Random(seed))
        assert schedule.delay(1, True) <= 0.4


def test_an_unknown_reader_does_not_wait() -> None:
    assert StartSchedule(3.0, 2, random.Random(3)).delay(5, True) == 0.0
