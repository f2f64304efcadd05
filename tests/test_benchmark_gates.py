"""CI gates on the public benchmark in ../shared/bench: extraction F1 floor, language flags, near-duplicates.

Each runs the benchmark script exactly as a developer would and fails when it does.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

BENCH = REPO.parent / "shared" / "bench" / "article-extraction-benchmark"


def run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a benchmark module from the repository root."""
    assert BENCH.is_dir(), f"benchmark data missing at {BENCH}"
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize(
    "args",
    [
        ("-m", "tests.benchmarks.quality", "--check"),  # F1 never below the pinned floor
        ("tests.benchmarks/language.py", "--max-wrong", "1"),  # at most one of 181 pages flagged wrongly
        ("tests.benchmarks/dedupe_quality.py", "--check"),  # recall >= 0.98, no false merge
    ],
    ids=["extraction-f1-floor", "language-flags", "near-duplicates"],
)
def test_benchmark_gate(args: tuple[str, ...]) -> None:
    result = run_benchmark(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
