"""Load synthetic articles into SQLiteStore and measure lookups, inserts and size.

Each synthetic article has a ~80-character canonical URL plus one alias (the requested
URL with tracking parameters), a fingerprint and a random near-duplicate signature
(random band keys model unrelated articles, the common case). Articles are added in
batches of ``--batch`` followed by ``commit()``, as the storage pipeline does.

At every checkpoint (10k, 100k, 1M, ... up to ``--n``) it prints:
- lookup ms/article: the full dedupe check of one incoming article (3 URL lookups,
  one fingerprint lookup, one near-duplicate lookup), half of them for stored articles,
- insert rate (articles/s, including commits),
- bytes on disk per article (after a WAL checkpoint).
Goals: lookup <= 1 ms and flat, <= 1 KB per article.

Run: ``python tests.benchmarks/dedupe_scale.py --n 1000000`` (a few minutes) or ``--n 20000``.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipelines.dedupe.neardup import BANDS, NUM_PERM, NearSignature, near_signature  # noqa: E402
from pipelines.state.sqlite_store import SQLiteStore  # noqa: E402

SECTIONS = ["news", "reviews", "electric-vehicles", "industry", "business/autos", "tech"]


def article(i: int, rng: random.Random) -> tuple[str, str, str, NearSignature]:
    """Synthetic (canonical url, alias, fingerprint, signature) of article ``i``."""
    host = f"www.site{i % 700}.example.com"
    slug = "-".join(rng.choice(["tesla", "price", "cut", "battery", "plant", "sales", "ev", "tariff"]) for _ in range(5))
    url = f"https://{host}/{rng.choice(SECTIONS)}/2026/{1 + i % 12:02d}/{slug}-{i}"
    alias = f"{url}?utm_source=rss&utm_medium=feed"
    fingerprint = rng.getrandbits(128).to_bytes(16, "little").hex()
    signature = NearSignature(
        bands=tuple(rng.getrandbits(32) - 2**31 for _ in range(BANDS)),
        mins=rng.getrandbits(16 * NUM_PERM).to_bytes(2 * NUM_PERM, "little"),
    )
    return url, alias, fingerprint, signature


def disk_bytes(path: str) -> int:
    """Size of the database after folding the WAL into it."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def measure_lookups(store: SQLiteStore, loaded: int, probes: int, seed: int) -> float:
    """Mean ms for the full dedupe check of one article; half the probes are stored articles."""
    rng = random.Random(seed)
    samples = []
    for k in range(probes):
        if k % 2 == 0:
            i = rng.randrange(loaded)
            url, alias, fp, sig = article(i, random.Random(i))
        else:
            url, alias, fp, sig = article(10**9 + k, rng)
        samples.append((url, alias, fp, sig))
    t0 = time.perf_counter()
    for url, alias, fp, sig in samples:
        store.has_url(url)
        store.has_url(alias)
        store.has_url(url + "/")
        store.find_fingerprint(fp)
        store.find_near(sig)
    return (time.perf_counter() - t0) / probes * 1000


def main() -> None:
    """Load ``--n`` synthetic articles and print figures at each checkpoint."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles to load")
    parser.add_argument("--batch", type=int, default=1000, help="adds per commit")
    parser.add_argument("--probes", type=int, default=2000, help="lookups per checkpoint")
    parser.add_argument("--page-size", type=int, default=None, help="SQLite page size of the new state file")
    parser.add_argument("--dir", default=None, help="directory for the state file (default: a temp dir)")
    args = parser.parse_args()

    checkpoints = [c for c in (10_000, 100_000, 1_000_000, 10_000_000) if c < args.n] + [args.n]
    sample_text = (ROOT.parent / "shared" / "seeds").glob("*.txt")
    texts = [p.read_text(encoding="utf-8") for p in sample_text]
    if texts:
        t0 = time.perf_counter()
        for _ in range(20):
            for t in texts:
                near_signature(t)
        per = (time.perf_counter() - t0) / (20 * len(texts)) * 1000
        print(f"signature computation: {per:.2f} ms/article (mean over the seed texts)")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "state.sqlite3")
        store = SQLiteStore(path, page_size=args.page_size) if args.page_size else SQLiteStore(path)
        loaded = 0
        insert_time = 0.0
        print(f"{'articles':>10} {'lookup ms/article':>18} {'insert/s':>10} {'bytes/article':>14}")
        for target in checkpoints:
            t0 = time.perf_counter()
            while loaded < target:
                end = min(target, loaded + args.batch)
                for i in range(loaded, end):
                    url, alias, fp, sig = article(i, random.Random(i))
                    store.add(url, aliases=[alias], fingerprint=fp, signature=sig)
                store.commit()
                loaded = end
            elapsed = time.perf_counter() - t0
            insert_time += elapsed
            lookup_ms = measure_lookups(store, loaded, args.probes, seed=target)
            size = disk_bytes(path)
            rate = (target - (checkpoints[checkpoints.index(target) - 1] if checkpoints.index(target) else 0)) / elapsed
            print(f"{loaded:>10} {lookup_ms:>18.3f} {rate:>10.0f} {size / loaded:>14.0f}", flush=True)
        print(f"total insert time {insert_time:.1f} s; stats: {store.stats()}")
        store.close()


if __name__ == "__main__":
    main()
