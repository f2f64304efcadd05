"""A hostile sitemap index through `autonews crawl`: wall time, peak RSS, child sitemaps fetched, URLs parsed.

Issue 21 (finding 7): an index of 1,000 gzip children of 50,000 URLs each used to be fetched and parsed
whole although the source's cap (10,000 new articles) was full after the first child: 10.8 M URLs
parsed, RSS 75 -> 554 MB, about 42 minutes. Now children are requested two at a time per source and
none once the cap is full (crawler/spiders/children.py, crawler/middlewares/source_full.py).

    python -m tests.benchmarks.sitemap_index [--children 1000] [--per-child 50000] [--cap 10000]

robots.txt refuses the article pages, so the 10,000 article requests queued cost what they cost the
scheduler and no download (as in tests/test_security_discovery.py row 6): what is measured is discovery.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.benchmarks.rss import run_with_peak_rss
from tests.conftest import autonews_cmd, crawl_args, run_reports
from tests.servers.sitemap_site import LoopbackSite, Page, serve_lazy_index


def main() -> None:
    """Serve the index, crawl it once, print one JSON line of measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1000)
    parser.add_argument("--per-child", type=int, default=50_000)
    parser.add_argument("--cap", type=int, default=10_000, help="AUTONEWS_MAX_ARTICLES_PER_SOURCE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LoopbackSite() as site:
        root = Path(tmp)
        registry = root / "sources.yaml"
        registry.write_text("sources:\n  - name: big\n    sitemaps: ['{{BASE}}/index.xml']\n", encoding="utf-8")
        serve_lazy_index(site, args.children, args.per_child)
        site.pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /a/\n", "text/plain")
        out = root / "out"
        started = time.monotonic()
        done, peak_mb = run_with_peak_rss(
            [*autonews_cmd(), *crawl_args(registry, site.base_url, out, "-s", "AUTONEWS_POOL_PROCESSES=0",
                                          "-s", f"AUTONEWS_MAX_ARTICLES_PER_SOURCE={args.cap}")],
            root, timeout=3600)
        wall = time.monotonic() - started
        stats = run_reports(out)[-1]["stats"] if (out / "runs").exists() else {}
        print(json.dumps({
            "children": args.children, "per_child": args.per_child, "cap": args.cap, "exit": done.returncode,
            "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1),
            "child_sitemaps_fetched": site.hit_count("/sitemaps/"),
            "urls_parsed": stats.get("autonews/source/big/entries", 0),
            "article_requests_queued": stats.get("robotstxt/forbidden", 0),
            "sitemaps_skipped_source_full": stats.get("autonews/skipped/sitemap_source_full", 0),
        }))


if __name__ == "__main__":
    main()
