"""Tests for fingerprints and near-duplicate signatures (pipelines.dedupe.neardup).

Syndicated variants of the benchmark's bodies are checked by the near-duplicates gate
(``python -m tests.benchmarks.dedupe_quality --check``, run by .ci/run), not here.
"""

from __future__ import annotations

import re

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.dedupe.neardup import (
    BANDS,
    NUM_PERM,
    ROWS,
    is_near,
    minhash_values,
    near_signature,
    normalize_text,
    shingles,
    similarity,
    text_fingerprint,
)

# the five seed texts, copied from the project's seed pages (shared/seeds)
SEEDS = sorted((Path(__file__).parent / "fixtures" / "seeds").glob("*.txt"))


def seed_text(prefix: str) -> str:
    """Text of the seed file whose name starts with ``prefix``."""
    (path,) = [p for p in SEEDS if p.name.startswith(prefix)]
    return path.read_text(encoding="utf-8")


def test_constants_consistent() -> None:
    assert BANDS * ROWS == NUM_PERM


def test_fingerprint_ignores_case_and_whitespace() -> None:
    a = text_fingerprint("Tesla cut prices.\nDemand  rose.")
    assert a == text_fingerprint("  tesla CUT prices. demand rose. ")
    assert a != text_fingerprint("Tesla cut prices. Demand fell.")
    assert re.fullmatch(r"[0-9a-f]{32}", a), a
    assert normalize_text(" A\n\tB  ") == "a b"


def test_shingles_edge_cases() -> None:
    assert shingles("") == set()
    assert shingles("one two") == {b"one two"}
    assert shingles("a b c d") == {b"a b c", b"b c d"}
    assert near_signature("   ...  ") is None
    short = "Subscribe to read the full story on our site today"
    assert near_signature(short) is None
    assert near_signature(" ".join([short] * 2)) is not None


def test_signature_deterministic_and_compact() -> None:
    text = seed_text("000")
    a, b = near_signature(text), near_signature(text)
    assert a is not None and a == b
    assert len(a.bands) == BANDS and len(a.mins) == 2 * NUM_PERM
    assert all(-(2**31) <= h < 2**31 for h in a.bands)
    assert similarity(a.mins, b.mins) == 1.0


@pytest.mark.parametrize(("a", "b"), [("000", "001"), ("002", "003")])
def test_same_story_different_articles_not_merged(a: str, b: str) -> None:
    sa, sb = near_signature(seed_text(a)), near_signature(seed_text(b))
    assert sa is not None and sb is not None
    assert not is_near(sa, sb)
    assert similarity(sa.mins, sb.mins) < 0.2


def test_no_seed_pair_merged() -> None:
    sigs = [near_signature(p.read_text(encoding="utf-8")) for p in SEEDS]
    assert len(sigs) == 5
    for x, y in itertools.combinations(sigs, 2):
        assert x is not None and y is not None
        assert not is_near(x, y)


def test_minhash_is_datasketch_affine32_bit_for_bit() -> None:
    # signatures in existing state stores were made with datasketch: the values must not change
    from datasketch import MinHash

    texts = [p.read_text(encoding="utf-8") for p in SEEDS] + ["one two", "Zürich Straße 東京 Ünïcode " * 40,
                                                               " ".join(f"w{i}" for i in range(9000))]
    for text in texts:
        reference = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
        reference.update_batch(shingles(text))
        values = minhash_values(text)
        assert values is not None and values.tolist() == reference.hashvalues.tolist()
    assert minhash_values("  ") is None


def test_importing_neardup_loads_neither_numpy_nor_datasketch() -> None:
    # crawler/settings.py imports this module: the crawl process needs no MinHash (the pool computes it)
    code = "import sys, pipelines.dedupe.neardup; print(sorted({'numpy', 'datasketch', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == "[]"
