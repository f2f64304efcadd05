"""Extraction quality on the article-extraction benchmark: autonews vs trafilatura alone.

    python -m tests.benchmarks.quality [--bench DIR] [--check] [--bootstrap N]

Runs ``extract_article`` (the crawl's code path, default thresholds: a rejected page scores as an
empty prediction) and plain ``trafilatura.extract(include_comments=False)`` on every page in the
same run, prints F1 / precision / recall / accuracy for both and metadata coverage. ``--check``
exits 1 when autonews F1 is below ``quality_floor.json`` (2 when the benchmark data changed).
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import html
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import trafilatura
from lxml.html import HtmlElement

from tests.benchmarks.scoring import evaluate, format_metrics, tokenize
from pipelines.extract.article import extract_article
from pipelines.extract.authors import clean_authors
from pipelines.extract.html import parse_html
from pipelines.extract.meta import PUBLISHED_META, jsonld_objects, meta_values, normalize_date, raw_authors

DEFAULT_BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench" / "article-extraction-benchmark"
FLOOR_FILE = Path(__file__).with_name("quality_floor.json")


def bench_hash(bench: Path) -> str:
    """sha256 of ground-truth.json, pinning the data a floor was measured on."""
    return hashlib.sha256((bench / "ground-truth.json").read_bytes()).hexdigest()


def load_bench(bench: Path) -> tuple[dict[str, dict[str, str]], dict[str, bytes]]:
    """Ground truth ``{id: {articleBody, url}}`` and raw HTML bytes per id."""
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    return truth, pages


def declared_metadata(tree: HtmlElement) -> dict[str, Any]:
    """Title / date / authors the page declares in JSON-LD or <meta>, to check agreement against."""
    objects, meta = jsonld_objects(tree), meta_values(tree)
    title = next((o["headline"] for o in objects if isinstance(o.get("headline"), str)), None) or meta.get("og:title")
    date = next((o["datePublished"] for o in objects if isinstance(o.get("datePublished"), str)), None)
    date = date or next((meta[k] for k in PUBLISHED_META if k in meta), None)
    # only machine-readable dates count: "Nov 19, 2019, 07:47 PM EST" cannot be compared exactly
    return {"title": html.unescape(title) if title else None, "published": normalize_date(date),
            "authors": clean_authors(raw_authors(objects, meta))}


def _same_title(a: str, b: str) -> bool:
    """Titles agree when one's tokens are contained in the other's (site suffixes differ)."""
    ta, tb = " ".join(tokenize(a.lower())), " ".join(tokenize(b.lower()))
    return bool(ta and tb) and (ta in tb or tb in ta)


def metadata_report(records: dict[str, dict[str, Any] | None], pages: dict[str, bytes]) -> list[str]:
    """Coverage of title / published / authors and agreement with declared values."""
    lines, n = [], len(pages)
    found = {f: 0 for f in ("title", "published", "authors")}
    declared = {f: 0 for f in found}
    agree = {f: 0 for f in found}
    for key, body in pages.items():
        record = records.get(key) or {}
        tree = parse_html(body.decode("utf-8", errors="replace"))
        truth = declared_metadata(tree) if tree is not None else {}
        for field in found:
            ours, theirs = record.get(field), truth.get(field)
            found[field] += bool(ours)
            if theirs:
                declared[field] += 1
                if field == "title":
                    agree[field] += bool(ours) and _same_title(ours, theirs)
                elif field == "published":
                    agree[field] += bool(ours) and ours[:10] == str(theirs)[:10]
                else:
                    agree[field] += {a.lower() for a in ours or []} == {a.lower() for a in theirs}
    for field in found:
        lines.append(f"  {field:<10} found {found[field]:>3}/{n}   agrees with page's JSON-LD/meta "
                     f"{agree[field]:>3}/{declared[field]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run both extractors on the benchmark, print the figures, optionally check the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--check", action="store_true", help="exit 1 if F1 is below quality_floor.json")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the ± (0: off)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # trafilatura logs every discarded page

    if not (args.bench / "ground-truth.json").is_file():
        print(f"no benchmark at {args.bench} (expected ground-truth.json and html/)")
        return 2
    truth_data, pages = load_bench(args.bench)
    truth = {key: value["articleBody"] for key, value in truth_data.items()}
    started = time.perf_counter()
    records = {key: extract_article(body, truth_data[key]["url"], "utf-8") for key, body in pages.items()}
    ours_s = time.perf_counter() - started
    # plain dicts, whether extract_article returns a dataclass (ExtractedPage) or a dict
    records = {key: dataclasses.asdict(r) if dataclasses.is_dataclass(r) else r for key, r in records.items()}
    started = time.perf_counter()
    plain = {key: trafilatura.extract(body.decode("utf-8"), url=truth_data[key]["url"], include_comments=False)
             for key, body in pages.items()}
    plain_s = time.perf_counter() - started

    ours = evaluate(truth, {k: (r or {}).get("text") for k, r in records.items()}, bootstrap=args.bootstrap)
    base = evaluate(truth, plain, bootstrap=args.bootstrap)
    print(f"benchmark: {args.bench} ({len(pages)} pages)")
    print(format_metrics("autonews extract_article", ours) + f"  {len(pages) / ours_s:.0f} pages/s")
    print(format_metrics("trafilatura alone", base) + f"  {len(pages) / plain_s:.0f} pages/s")
    print(f"rejected as not an article: {sum(r is None for r in records.values())}")
    print("metadata (autonews):")
    print("\n".join(metadata_report(records, pages)))

    if args.check:
        floor = json.loads(FLOOR_FILE.read_text())
        if floor.get("bench_sha256") != bench_hash(args.bench):
            print("FAIL: benchmark data differs from the one the floor was measured on")
            return 2
        if ours.f1 < floor["f1_floor"]:
            print(f"FAIL: F1 {ours.f1:.4f} below floor {floor['f1_floor']:.4f}")
            return 1
        print(f"OK: F1 {ours.f1:.4f} >= floor {floor['f1_floor']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
