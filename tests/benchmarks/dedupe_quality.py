"""Measure near-duplicate detection on syndicated variants of real article bodies.

Builds ``--variants`` syndicated copies of each of the 181 ground-truth bodies of
../shared/bench/article-extraction-benchmark (new headline line, one paragraph dropped
or one added, ~3% of words replaced, a few template/boilerplate lines added) and
reports, for each candidate method:

- recall: share of variants matched to their own original,
- wrong: variants matched to a different original,
- false merges: pairs of distinct originals (all 181*180/2 pairs plus all pairs of the
  five seed texts in tests/fixtures/seeds) judged near-duplicates,
- max distinct: highest similarity among distinct pairs (margin to the threshold).

Candidates: MinHash + LSH banding (several shingle sizes, bands x rows, thresholds),
SimHash (64 bit) at several Hamming radii, and the configuration deployed in
``pipelines.dedupe.neardup`` (b-bit mins, 32-bit band keys) as the last line.

``--check`` (the CI gate) also requires every one of the first 20 bodies over 300 words to be judged
a near-duplicate of a syndicated copy of itself (headline and template lines added, one paragraph
dropped, ~3% of words changed).

Run from the repository root: ``python -m tests.benchmarks.dedupe_quality [--variants 3] [--seed 7] [--check]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipelines.dedupe import neardup  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "article-extraction-benchmark" / "ground-truth.json"
SEEDS = ROOT / "tests" / "fixtures" / "seeds"  # the five seed texts of ../shared/seeds
WORD = re.compile(r"\w+")
BOILERPLATE = [
    "Share this article on Facebook Twitter LinkedIn",
    "Sign up for our newsletter to get the latest auto news",
    "This story originally appeared on a partner site and is republished with permission.",
    "Copyright 2024 Syndicated Media Group. All rights reserved.",
    "Read more: the best electric cars you can buy right now",
    "Advertisement",
]
FILLER = "the car market news electric model price sales report company year new plan".split()


def load_texts() -> tuple[list[str], list[str]]:
    """Return (benchmark bodies, seed texts)."""
    truth = json.loads(BENCH.read_text(encoding="utf-8"))
    bodies = [v["articleBody"] for _, v in sorted(truth.items())]
    seeds = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    return bodies, seeds


def make_variant(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    """Return a syndicated copy of ``text``: new headline, +/- one paragraph, ~3% words changed, boilerplate."""
    paras = [p for p in text.split("\n") if p.strip()]
    if len(paras) > 2 and rng.random() < 0.5:
        del paras[rng.randrange(len(paras))]
    else:
        extra = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(15, 40)))
        paras.insert(rng.randrange(len(paras) + 1), extra)
    changed = []
    for para in paras:
        words = para.split(" ")
        for i in range(len(words)):
            if rng.random() < 0.03:
                words[i] = rng.choice(vocabulary)
        changed.append(" ".join(words))
    headline = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(6, 12))).capitalize()
    top = rng.sample(BOILERPLATE, 1)
    bottom = rng.sample(BOILERPLATE, 2)
    return "\n".join([headline, *top, *changed, *bottom])


def minhash_values(text: str, k: int, perms: tuple[np.ndarray, np.ndarray], num_perm: int) -> np.ndarray:
    """MinHash values of the word k-shingles of ``text``."""
    words = WORD.findall(text.casefold())
    grams = {" ".join(words[i : i + k]).encode() for i in range(max(1, len(words) - k + 1))}
    mh = MinHash(num_perm=num_perm, seed=1, permutations=perms, scheme="affine32")
    mh.update_batch(grams)
    return mh.hashvalues


def simhash(text: str, k: int = 3) -> int:
    """64-bit SimHash of the word k-shingles of ``text`` (unweighted)."""
    words = WORD.findall(text.casefold())
    grams = {" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}
    counts = np.zeros(64, dtype=np.int64)
    for g in grams:
        h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
        bits = np.array([(h >> i) & 1 for i in range(64)], dtype=np.int64)
        counts += 2 * bits - 1
    return int(sum(1 << i for i in range(64) if counts[i] > 0))


def evaluate(name: str, originals: list, variants: list[tuple[int, object]], seeds: list, keys, sim, threshold: float) -> dict:
    """Score one method as an index would run it.

    ``keys(x)`` gives the LSH keys of an item (candidates share one), or None to compare
    against everything; a candidate is a duplicate when ``sim(a, b) >= threshold``.
    """

    def matcher(group: list):
        index: dict = {}
        for i, item in enumerate(group):
            for key in keys(item) or ():
                index.setdefault(key, set()).add(i)

        def matches(x: object) -> set[int]:
            kx = keys(x)
            cands = range(len(group)) if kx is None else set().union(*(index.get(k, ()) for k in kx))
            return {i for i in cands if sim(group[i], x) >= threshold}

        return matches

    find = matcher(originals)
    hit = wrong = 0
    for owner, var in variants:
        found = find(var)
        hit += owner in found
        wrong += any(i != owner for i in found)
    false_merges = 0
    max_distinct = 0.0
    for group in (originals, seeds):
        find_in = matcher(group)
        for j, item in enumerate(group):
            false_merges += sum(1 for i in find_in(item) if i < j)
            max_distinct = max([max_distinct] + [sim(group[i], item) for i in range(j)])
    result = {
        "method": name,
        "recall": hit / len(variants),
        "wrong": wrong,
        "false_merges": false_merges,
        "max_distinct": round(max_distinct, 3),
    }
    print(
        f"{name:<44} recall {result['recall']:.4f}  wrong {wrong:3d}  "
        f"false merges {false_merges:3d}  max distinct sim {max_distinct:.3f}",
        flush=True,
    )
    return result


def main() -> None:
    """Run every candidate and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=3, help="variants per benchmark body")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--deployed-only", action="store_true", help="only score pipelines.dedupe.neardup")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless the deployed setting has recall >= 0.98 and no false merge")
    args = parser.parse_args()

    bodies, seed_texts = load_texts()
    rng = random.Random(args.seed)
    vocabulary = sorted({w for b in bodies[:40] for w in WORD.findall(b) if w.isalpha()}) + FILLER
    variants = [(i, make_variant(b, rng, vocabulary)) for i, b in enumerate(bodies) for _ in range(args.variants)]
    print(f"{len(bodies)} originals, {len(variants)} variants, {len(seed_texts)} seed texts\n")

    if args.deployed_only or args.check:
        deployed = evaluate_deployed(bodies, variants, seed_texts)
        if args.check and (deployed["recall"] < 0.98 or deployed["false_merges"] or deployed["wrong"]):
            print(f"FAIL: deployed near-duplicate detection below the bar: {deployed}")
            raise SystemExit(1)
        if args.check:
            missed = long_bodies_missed(bodies)
            if missed:
                print(f"FAIL: {len(missed)} long bodies not matched to their syndicated copy: {missed}")
                raise SystemExit(1)
            print("OK: recall >= 0.98, no false merge, every long body matched to its syndicated copy")
        return
    num_perm = 128
    perms = MinHash(num_perm=num_perm, seed=1, scheme="affine32").permutations
    for k in (2, 3, 5):
        t0 = time.perf_counter()
        orig = [minhash_values(t, k, perms, num_perm) for t in bodies]
        var = [(i, minhash_values(t, k, perms, num_perm)) for i, t in variants]
        seeds = [minhash_values(t, k, perms, num_perm) for t in seed_texts]
        per_text = (time.perf_counter() - t0) / (len(orig) + len(var) + len(seeds)) * 1000
        print(f"-- MinHash word {k}-shingles ({per_text:.2f} ms/text for {num_perm} perms)")
        for bands, rows in ((16, 4), (20, 3), (24, 3), (32, 2)):
            n = bands * rows

            def band_keys(v: np.ndarray, bands: int = bands, rows: int = rows) -> list[tuple[int, bytes]]:
                return [(b, v[b * rows : (b + 1) * rows].tobytes()) for b in range(bands)]

            def jac(a: np.ndarray, b: np.ndarray, n: int = n) -> float:
                return float(np.mean(a[:n] == b[:n]))

            for threshold in (0.3, 0.35, 0.4, 0.5):
                evaluate(f"minhash k={k} {bands}x{rows} t={threshold}", orig, var, seeds, band_keys, jac, threshold)

    print("-- SimHash 64 bit, word 3-shingles (brute force, no index)")
    orig_s = [simhash(t) for t in bodies]
    var_s = [(i, simhash(t)) for i, t in variants]
    seeds_s = [simhash(t) for t in seed_texts]
    for radius in (3, 6, 10, 14):
        evaluate(
            f"simhash hamming<={radius}",
            orig_s,
            var_s,
            seeds_s,
            lambda x: None,
            lambda a, b: 1 - (a ^ b).bit_count() / 64,
            1 - radius / 64,
        )

    evaluate_deployed(bodies, variants, seed_texts)


def syndicate(text: str, rng: random.Random) -> str:
    """A syndicated copy: new headline, a paragraph dropped, ~3% of words changed, template lines added."""
    paras = [p for p in text.split("\n") if p.strip()]
    del paras[rng.randrange(len(paras))]
    out = []
    for para in paras:
        words = para.split(" ")
        for i in range(len(words)):
            if rng.random() < 0.03:
                words[i] = rng.choice(["vehicle", "market", "report", "said", "new"])
        out.append(" ".join(words))
    return "\n".join(
        ["Carmaker news: what the deal means for buyers", "Advertisement", *out, "Share this article", "© 2024 Wire"]
    )


def long_bodies_missed(bodies: list[str]) -> list[str]:
    """Openings of the first 20 bodies over 300 words that ``neardup.is_near`` does not match to a syndicated copy."""
    rng = random.Random(3)
    long_bodies = [b for b in bodies if len(b.split()) > 300][:20]
    if len(long_bodies) != 20:
        return [f"only {len(long_bodies)} bodies over 300 words"]
    missed = []
    for body in long_bodies:
        original, copy = neardup.near_signature(body), neardup.near_signature(syndicate(body, rng))
        if original is None or copy is None or not neardup.is_near(original, copy):
            missed.append(body[:80])
    print(f"long bodies matched to their syndicated copy: {20 - len(missed)}/20")
    return missed


def evaluate_deployed(bodies: list[str], variants: list[tuple[int, str]], seed_texts: list[str]) -> dict:
    """Score the configuration in pipelines.dedupe.neardup at a few thresholds; return the deployed one's result."""
    print("-- deployed: pipelines.dedupe.neardup (16-bit mins, 32-bit band keys)")
    orig_d = [neardup.near_signature(t) for t in bodies]
    var_d = [(i, neardup.near_signature(t)) for i, t in variants]
    seeds_d = [neardup.near_signature(t) for t in seed_texts]
    deployed: dict = {}
    for threshold in sorted({0.3, 0.35, neardup.NEAR_THRESHOLD, 0.5}):
        mark = " (deployed)" if threshold == neardup.NEAR_THRESHOLD else ""
        result = evaluate(
            f"neardup k={neardup.SHINGLE_WORDS} {neardup.BANDS}x{neardup.ROWS} t={threshold}{mark}",
            orig_d,
            var_d,
            seeds_d,
            lambda s: s.bands,
            lambda a, b: neardup.similarity(a.mins, b.mins),
            threshold,
        )
        if mark:
            deployed = result
    return deployed


if __name__ == "__main__":
    main()
