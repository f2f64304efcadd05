"""Distributed crawl benchmark: 1, 2, 3 workers on loopback; Redis memory per 100k seen URLs.

``python -m tests.benchmarks.distributed [--pages 1500] [--workers 1,2,3] [--urls 100000]``

Throughput: a generated site of ``--pages`` articles is served on 127.0.0.1; for each
worker count a fresh Redis round is crawled by that many ``autonews crawl --redis``
processes. The clock runs from launching the workers until every article line is
written (idle-exit tails excluded). Memory: ``--urls`` synthetic articles (canonical URL +
one alias, fingerprint, near-duplicate signature) are claimed through ``RedisStore``;
Redis' ``used_memory`` before and after gives bytes per article and per URL, with the
default Redis configuration and with ``hash-max-listpack-value 256``.
Needs ``redis-server`` on PATH. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crawler.demo.generate import generate_site
from crawler.demo.server import DemoServer
from crawler.distributed.rounds import round_report
from pipelines.state.redis_keys import RedisKeys
from pipelines.dedupe.neardup import BANDS, NUM_PERM, NearSignature
from pipelines.state.redis_store import RedisStore
from tests.servers.redis_server import RedisServer


def _lines(output: Path) -> int:
    total = 0
    for path in list(output.glob("articles*/*/*.part")) + list(output.glob("articles*/*/*.jsonl")):
        try:
            total += path.read_bytes().count(b"\n")
        except FileNotFoundError:  # renamed while counting
            pass
    return total


def crawl(server: RedisServer, site: DemoServer, registry: Path, workers: int, pages: int, work: Path) -> dict:
    """Crawl the site with ``workers`` processes on a flushed Redis; return timings and counts."""
    server.client().flushall()
    output = work / f"out-{workers}"
    output.mkdir()
    env = {**os.environ}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    autonews = str(Path(sys.executable).parent / "autonews")
    started = time.monotonic()
    procs = [subprocess.Popen(
        [autonews, "crawl", "--redis", server.url, "--sources", str(registry), "--output", str(output),
         "-s", f"AUTONEWS_SUBSTITUTIONS={json.dumps({'{{BASE}}': site.base_url})}", "-s", f"AUTONEWS_WORKER_ID=b{i}",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTONEWS_POOL_PROCESSES=1",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "AUTONEWS_REDIS_IDLE_SECONDS=1",
         "-s", "AUTONEWS_PRIVATE_HOSTS=127.0.0.1"],  # the site serves on loopback (README "Security")
        cwd=output, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
    done_at = None
    while any(p.poll() is None for p in procs):
        if done_at is None and _lines(output) >= pages:
            done_at = time.monotonic()
        time.sleep(0.1)
    if done_at is None:
        done_at = time.monotonic()
    report = round_report(server.client(), RedisKeys("autonews"))["stats"]
    seconds = done_at - started
    fetched = report.get("downloader/response_count", 0)
    return {"workers": workers, "seconds": round(seconds, 1), "pages_fetched": fetched,
            "articles": report.get("autonews/written", 0), "pages_per_second": round(fetched / seconds, 1)}


def memory(server: RedisServer, count: int) -> dict:
    """Claim ``count`` synthetic articles (2 URLs each); return Redis memory figures.

    ``marginal_*``: the growth over the second half, without the fixed cost of the
    65,536-bucket indexes (about what each further 100k URLs cost).
    """
    client = server.client()
    client.flushall()
    before = client.info("memory")["used_memory"]
    store = RedisStore(server.url, instance="bench")
    rng = random.Random(1)
    started = time.monotonic()
    batch = 500
    half = None
    for start in range(0, count, batch):
        if half is None and start >= count // 2:
            half = (client.info("memory")["used_memory"], int(client.hget("autonews:count", "urls") or 0), start)
        pipe = store.client.pipeline(transaction=False)
        for i in range(start, min(count, start + batch)):
            url = f"https://news{i % 50}.example.com/2026/{i % 12 + 1:02d}/story-{i}-{rng.getrandbits(32):08x}/"
            sig = NearSignature(bands=tuple(rng.getrandbits(32) - 2**31 for _ in range(BANDS)),
                                mins=struct.pack(f"<{NUM_PERM}H", *(rng.getrandbits(16) for _ in range(NUM_PERM))))
            fp = rng.getrandbits(64).to_bytes(8, "little")
            # the CLAIM script's arguments (pipelines/state/redis_lua.py): ... full fingerprint, version,
            # update flag, ETag, Last-Modified, fetch time (ms), URL count, URLs, bands
            args = [store.prefix, store.instance, "", "claim", store.timeout_ms, 0.4, 32, url,
                    fp, sig.mins, int(time.time()), fp.hex() * 2, 0, "", '"0123456789abcdef"',
                    "Fri, 20 Nov 2026 10:00:00 GMT", int(time.time() * 1000), 2,
                    *(hashlib.blake2b(u.encode(), digest_size=8).digest() for u in (url, url + "?amp")),
                    *(struct.pack("<i", b) for b in sig.bands)]
            store._claim(args=args, client=pipe)
        pipe.execute()
    elapsed = time.monotonic() - started
    used = client.info("memory")["used_memory"] - before
    urls = int(client.hget("autonews:count", "urls") or 0)
    assert half is not None
    grown = client.info("memory")["used_memory"] - half[0]
    return {"articles": count, "urls": urls, "used_memory_bytes": used, "bytes_per_article": round(used / count),
            "mib_per_100k_urls": round(used / urls * 1e5 / 2**20, 1),
            "marginal_bytes_per_article": round(grown / (count - half[2])),
            "marginal_mib_per_100k_urls": round(grown / (urls - half[1]) * 1e5 / 2**20, 1),
            "claims_per_second": round(count / elapsed)}


def main() -> None:
    """Run both tests.benchmarks and print one JSON object per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--urls", type=int, default=100_000, help="synthetic articles for the memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as server:
        work = Path(tmp)
        registry = generate_site(work / "site", args.pages, seed=3)
        with DemoServer(root=work / "site") as site:
            for workers in [int(w) for w in args.workers.split(",") if w]:
                print(json.dumps(crawl(server, site, registry, workers, args.pages, work)), flush=True)
        if args.urls:
            print(json.dumps({"redis_config": "default", **memory(server, args.urls // 2)}), flush=True)
    if args.urls:
        # Documents carry 144-byte MinHash values: above the default 64-byte listpack limit.
        with RedisServer(extra_args=("--hash-max-listpack-value", "256")) as tuned:
            print(json.dumps({"redis_config": "hash-max-listpack-value 256", **memory(tuned, args.urls // 2)}), flush=True)


if __name__ == "__main__":
    main()
