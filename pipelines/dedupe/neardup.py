"""Text fingerprints and near-duplicate signatures (MinHash + LSH banding).

Why MinHash/LSH, and why these numbers: measured with ``tests.benchmarks/dedupe_quality.py``
on syndicated variants of the 181 benchmark bodies (new headline, one paragraph
dropped or added, ~3% of words replaced, three template lines added), plus all pairs
of distinct bodies and of the five seed texts (two same-story pairs among them):

- SimHash (64 bit, word 3-shingles) separates nothing at an indexable radius: recall
  0.004 at Hamming <= 3, 0.41 at <= 10, 0.82 at <= 14 with a false merge already;
  distinct articles reach 50/64 equal bits.
- MinHash, word 3-shingles, 24 bands x 3 rows (72 permutations), verified at estimated
  Jaccard >= 0.4: recall 0.986-0.993 over four variant seeds (905 variants each),
  zero false merges; the most similar distinct pair scores 0.18 (the seed
  pairs at most 0.02). 16x4 bands cap recall near 0.95-0.97; 32x2 bands reach 0.99+ but make a
  candidate of every second same-site article sharing 15% boilerplate (1-(1-s^r)^b =
  0.52 at s=0.15, against 0.08 for 24x3), which does not scale to 1M articles.
  2-shingles bring distinct pairs up to 0.35 (less margin); 5-shingles lose recall.

The signature is stored compactly so the state store can hold millions of them:
``bands`` are 32-bit hashes (one per band, band number mixed in) that go into an
indexed SQL table for candidate lookup; ``mins`` keeps the low 16 bits of each of the
72 MinHash values (b-bit MinHash, 144 bytes) to verify a candidate's similarity
without the other article's text.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SHINGLE_WORDS = 3
NUM_PERM = 72
BANDS = 24
ROWS = 3  # BANDS * ROWS must equal NUM_PERM
NEAR_THRESHOLD = 0.4
"""Estimated Jaccard similarity (of word shingles) at or above which two texts are near-duplicates."""
NEAR_MIN_WORDS = 20
"""Texts shorter than this get no near-duplicate signature (only the exact fingerprint):
a few shingles give a similarity estimate too noisy to merge articles on."""
# Shingles are taken from a text's first 400,000 characters (~60,000 words; the longest of the 181
# benchmark articles has 53,000 characters): copies of one story agree from their first lines, and a
# one-line 8 MB page would otherwise cost ~2 s of Python per signature.
NEAR_MAX_CHARS = 400_000

_WORD = re.compile(r"\w+", re.UNICODE)
_MINS_FORMAT = f"<{NUM_PERM}H"


@dataclass(frozen=True, slots=True)
class NearSignature:
    """Compact near-duplicate signature of one text.

    ``bands``: one signed 32-bit LSH key per band (candidate lookup).
    ``mins``: packed low 16 bits of each MinHash value (similarity verification).
    """

    bands: tuple[int, ...]
    mins: bytes


def normalize_text(text: str) -> str:
    """Return ``text`` case-folded with all whitespace runs collapsed to one space."""
    # str.split() splits on exactly the whitespace r"\s" matches, at a seventh of the regex's cost
    return " ".join(text.casefold().split())


def text_fingerprint(text: str) -> str:
    """Return a 32-hex-digit blake2b hash of the whitespace- and case-normalised text.

    Texts that differ only in case, line breaks or spacing share a fingerprint.
    """
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Return the set of overlapping ``size``-word shingles of ``text`` (case-folded).

    A text shorter than ``size`` words gives one shingle of all its words; an empty
    text gives the empty set.
    """
    words = _WORD.findall(text[:NEAR_MAX_CHARS].casefold())
    if not words:
        return set()
    if len(words) < size:
        return {" ".join(words).encode("utf-8")}
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


# The MinHash is datasketch 2.0's ``MinHash(num_perm=72, seed=1, scheme="affine32")`` fed with
# ``update_batch(shingles)``, computed here bit for bit (tests/test_neardup.py compares the two): stored
# signatures must stay comparable across versions, and importing datasketch pulls in scipy (~40 MB
# resident, ~0.4 s) for these few lines. numpy is imported on first use: crawler/settings.py reads
# NEAR_THRESHOLD from this module long before a crawl needs a signature, and the pool workers, which
# only compute shingle_hashes, never load it.
_PERMUTATION_SEED = 1
_FMIX_SHIFTS_MULTIPLIERS = ((16, 0x85EBCA6B), (13, 0xC2B2AE35))  # MurmurHash3's 32-bit finalizer
_FMIX_LAST_SHIFT = 16
_CHUNK_SHINGLES = 4096  # shingles per (n x NUM_PERM) block, so a huge text never builds a huge matrix


def _numpy() -> Any:
    """numpy, imported on first use; OpenBLAS's thread pool is not started (nothing here is linear algebra,
    and the idle pool thread cost the crawl process ~0.1 CPU s)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read once, when numpy loads OpenBLAS
    import numpy

    return numpy


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The ``NUM_PERM`` affine permutations ``h -> a * h + b mod 2**32`` (``a`` odd, so each is a bijection),
    drawn as datasketch draws them: ``RandomState(seed)``, all of ``a`` first, then all of ``b``."""
    np = _numpy()

    gen = np.random.RandomState(_PERMUTATION_SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def prepare() -> None:
    """Load numpy and draw the permutations now rather than at the first article's signature."""
    _permutations()


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer on uint32 values (wrapping multiplication): spreads structured input hashes."""
    np = _numpy()

    for shift, multiplier in _FMIX_SHIFTS_MULTIPLIERS:
        values = (values ^ (values >> np.uint32(shift))) * np.uint32(multiplier)
    return values ^ (values >> np.uint32(_FMIX_LAST_SHIFT))


def shingle_hashes(text: str) -> bytes:
    """The 32-bit hashes the MinHash is computed from, one per distinct shingle of ``text``: the first 4 bytes
    of its SHA-1, packed (little-endian uint32, as datasketch's ``sha1_hash32`` reads them); empty when the
    text has no words.

    Pure Python and most of a signature's cost: the pool workers compute them without numpy
    (``signature_hashes``), the crawl process finishes the signature (``signature_from_hashes``).
    """
    sha1 = hashlib.sha1
    return b"".join([sha1(gram).digest()[:4] for gram in shingles(text)])


def minhash_of_hashes(hashes: bytes) -> np.ndarray | None:
    """Return the ``NUM_PERM`` MinHash values (uint32) of packed shingle hashes, or None when there are none.

    Each hash is mixed by :func:`_fmix32` and put through every permutation; each value is the minimum
    over the shingles.
    """
    if not hashes:
        return None
    np = _numpy()

    mixed = _fmix32(np.frombuffer(hashes, dtype="<u4")).reshape(-1, 1)
    a, b = _permutations()
    values = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    for start in range(0, len(mixed), _CHUNK_SHINGLES):
        np.minimum(values, (mixed[start : start + _CHUNK_SHINGLES] * a + b).min(axis=0), out=values)
    return values


def minhash_values(text: str) -> np.ndarray | None:
    """Return the ``NUM_PERM`` MinHash values (uint32) of the text's shingles, or None if it has no words."""
    return minhash_of_hashes(shingle_hashes(text))


def _band_key(band: int, rows: bytes) -> int:
    """LSH key of one band: its rows as little-endian uint64s, hashed with the band number mixed in."""
    digest = hashlib.blake2b(band.to_bytes(2, "little") + rows, digest_size=4).digest()
    # Signed so it fits SQLite's INTEGER in 4 bytes either way.
    return int.from_bytes(digest, "little", signed=True)


def signature_from_values(values: np.ndarray) -> NearSignature:
    """Build a :class:`NearSignature` from MinHash values (see :func:`minhash_values`)."""
    rows = values.astype("<u8").tobytes()
    width = 8 * ROWS
    bands = tuple(_band_key(b, rows[b * width : (b + 1) * width]) for b in range(BANDS))
    mins = (values & 0xFFFF).astype("<u2").tobytes()  # = struct.pack(_MINS_FORMAT, low 16 bits of each)
    return NearSignature(bands=bands, mins=mins)


def signature_hashes(text: str) -> bytes | None:
    """The :func:`shingle_hashes` of ``text``, or None when it has fewer than ``NEAR_MIN_WORDS`` words (no signature)."""
    if sum(1 for _ in islice(_WORD.finditer(text), NEAR_MIN_WORDS)) < NEAR_MIN_WORDS:
        return None
    return shingle_hashes(text)


def signature_from_hashes(hashes: bytes) -> NearSignature | None:
    """The near-duplicate signature of a text from its :func:`signature_hashes` (None when there are none)."""
    values = minhash_of_hashes(hashes)
    return None if values is None else signature_from_values(values)


def near_signature(text: str) -> NearSignature | None:
    """Return the near-duplicate signature of ``text``, or None when it has fewer than ``NEAR_MIN_WORDS`` words."""
    hashes = signature_hashes(text)
    return None if hashes is None else signature_from_hashes(hashes)


def similarity(mins_a: bytes, mins_b: bytes) -> float:
    """Estimate the Jaccard similarity of two texts from their packed ``mins``."""
    a = struct.unpack(_MINS_FORMAT, mins_a)
    b = struct.unpack(_MINS_FORMAT, mins_b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / NUM_PERM


def is_near(a: NearSignature, b: NearSignature, threshold: float = NEAR_THRESHOLD) -> bool:
    """Return True when ``a`` and ``b`` share an LSH band and their similarity reaches ``threshold``."""
    if not set(a.bands) & set(b.bands):
        return False
    return similarity(a.mins, b.mins) >= threshold
