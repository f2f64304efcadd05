"""Near-duplicate signatures stay what the state stores on disk expects (pipelines.dedupe.neardup).

A state store keeps each article's band keys and packed MinHash minima across versions of autonews: a
change to how bands are cut or hashed would silently stop new copies matching stored articles (they
share no band any more). These tests pin the layout with a recorded signature, and the LSH contract of
``is_near`` (a shared band, then the threshold inclusive). Found by the mutation run (issue 25).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from pipelines.dedupe import neardup
from pipelines.dedupe.neardup import (BANDS, NUM_PERM, ROWS, NearSignature, is_near, minhash_values, near_signature,
                                      signature_from_hashes, signature_hashes, similarity)

ORIGINAL = (Path(__file__).parent / "fixtures" / "rewrites" / "original.txt").read_text(encoding="utf-8")

# near_signature(ORIGINAL).bands as autonews 2026-12 stores them (signatures in existing states must keep matching)
ORIGINAL_BANDS = (778899075, -1869064316, -2025824587, -864275775, 393410661, -1526193973, -1664411326, -2097772987,
                  1784631759, 1308831109, 676264542, 1967175086, -532717317, 408813308, -720818240, 1790414180,
                  -1373191822, 1832733466, -495893936, 2084380912, 1317429728, 1320277430, 1379087636, -231629242)


def test_band_keys_of_a_known_text_are_unchanged() -> None:
    signature = near_signature(ORIGINAL)
    assert signature is not None
    assert signature.bands == ORIGINAL_BANDS


def test_band_keys_follow_the_documented_layout() -> None:
    """Band ``b``: blake2b-32 of ``b`` (2 bytes LE) + its ROWS MinHash values as LE uint64, read as signed LE."""
    values = minhash_values(ORIGINAL)
    signature = near_signature(ORIGINAL)
    assert values is not None and signature is not None
    expected = []
    for band in range(BANDS):
        rows = b"".join(int(v).to_bytes(8, "little") for v in values[band * ROWS : (band + 1) * ROWS])
        digest = hashlib.blake2b(band.to_bytes(2, "little") + rows, digest_size=4).digest()
        expected.append(int.from_bytes(digest, "little", signed=True))
    assert signature.bands == tuple(expected)
    assert len(set(signature.bands)) == BANDS  # one key per band, each band hashed with its number
    # mins: the low 16 bits of each value, little-endian
    assert struct.unpack(f"<{NUM_PERM}H", signature.mins) == tuple(int(v) & 0xFFFF for v in values)


def test_minhash_values_are_uint32() -> None:
    values = minhash_values(ORIGINAL)
    assert values is not None
    assert values.dtype == np.uint32 and values.shape == (NUM_PERM,)


def test_signature_from_hashes_of_a_text_without_words_is_none() -> None:
    assert signature_hashes("word " * 30) is not None
    assert signature_from_hashes(b"") is None
    assert signature_from_hashes(signature_hashes(ORIGINAL) or b"") == near_signature(ORIGINAL)


def _with_mins(bands: tuple[int, ...], equal: int) -> tuple[NearSignature, NearSignature]:
    """Two signatures whose mins agree on exactly ``equal`` of the NUM_PERM positions."""
    a = list(range(NUM_PERM))
    b = [v if i < equal else v + 1000 for i, v in enumerate(a)]
    pack = struct.Struct(f"<{NUM_PERM}H").pack
    return NearSignature(bands, pack(*a)), NearSignature(bands, pack(*b))


def test_is_near_needs_a_shared_band() -> None:
    a, b = _with_mins(tuple(range(BANDS)), NUM_PERM)
    assert similarity(a.mins, b.mins) == 1.0 and is_near(a, b)
    apart = NearSignature(tuple(range(100, 100 + BANDS)), b.mins)
    assert not is_near(a, apart)  # identical minima, but LSH never made them candidates


def test_is_near_threshold_is_inclusive() -> None:
    a, b = _with_mins(tuple(range(BANDS)), NUM_PERM // 2)
    assert similarity(a.mins, b.mins) == 0.5
    assert is_near(a, b, threshold=0.5)
    assert not is_near(a, b, threshold=0.5 + 1 / NUM_PERM)


def test_numpy_is_loaded_without_an_openblas_thread_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert neardup._numpy() is np
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # a user's own choice is kept
    neardup._numpy()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
