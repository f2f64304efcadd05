"""Metadata and text quality on real news and web pages: autonews vs trafilatura alone, same run.

    python -m tests.benchmarks.metadata --set fundus|trafilatura-eval [--bench DIR] [--check] [--jobs N]
                                        [--dump FILE]

Sets (``../shared/bench``, see its README for the scoring rules implemented here):

- ``fundus``: ``fundus-publishers/``, 124 news pages with the publishers' own title, authors, date, text.
  Title: equal after NFKC, whitespace collapsing and case folding; authors: the same set of names so
  normalised (``people``: the same, only on the pages whose truth names someone); date: the same instant (both zone-aware) or the same calendar date; text: shingle F1
  (``tests.benchmarks.scoring``).
- ``trafilatura-eval``: ``trafilatura-eval/``, 482 news, blog, forum and institutional pages with
  must-contain / must-not-contain / reader-comment snippets; F1 summed over all pages as trafilatura's
  evaluation does; a comment snippet found in the text is a comment leak.

A date is *wrong* when one is given and the truth is annotated but differs (a date given where the truth
says there is none counts too). Every page is scored: a page autonews rejects as "not an article" has no
title, authors, date or text. Pages are split by a hash of their key into a development part (~70%) and
a held-out part (~30%); figures are printed for all pages and for both parts.

``--check`` exits 1 when a figure of the whole set is below (wrong dates, comment leaks: above) the
floors pinned in ``metadata_floor.json`` (2 when the benchmark data changed); ``--pin`` writes this
run's figures there (extraction is deterministic, so floors are pinned exactly, and only ever move up).
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import logging
import math
import sys
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import trafilatura

from pipelines.extract.article import extract_article
from pipelines.extract.pagemeta import DATE_PARAMS
from tests.benchmarks.scoring import evaluate

BENCH_ROOT = Path(__file__).resolve().parents[3] / "shared" / "bench"
SETS = {"fundus": "fundus-publishers", "trafilatura-eval": "trafilatura-eval"}
FLOOR_FILE = Path(__file__).with_name("metadata_floor.json")
DEV_SHARE = 7  # of 10: pages whose key hashes below it are the development part


def is_dev(key: str) -> bool:
    """Whether ``key`` belongs to the development part (a stable ~70% of keys)."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 10 < DEV_SHARE


def norm(value: str | None) -> str:
    """NFKC, collapsed whitespace, case folded: how the bench README compares titles and names."""
    return " ".join(unicodedata.normalize("NFKC", value or "").split()).casefold()


def _instant(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def same_date(ours: str | None, truth: str | None) -> bool:
    """Same instant when both are zone-aware, else the same calendar date."""
    if not ours or not truth:
        return not ours and not truth
    a, b = _instant(ours), _instant(truth)
    if a and b and a.tzinfo and b.tzinfo and a == b:
        return True
    return ours[:10] == truth[:10]


def run_ours(body: bytes, url: str) -> dict[str, Any] | None:
    """autonews' pure extraction, as the crawl runs it; a plain dict or None (not an article)."""
    page = extract_article(body, url, "utf-8")
    return dataclasses.asdict(page) if page is not None else None


def run_plain(body: bytes, url: str) -> dict[str, Any] | None:
    """trafilatura alone: one pass without comments, its own metadata, date search as ours (not extensive)."""
    doc = trafilatura.bare_extraction(body.decode("utf-8", errors="replace"), url=url, include_comments=False,
                                      with_metadata=True, date_extraction_params=dict(DATE_PARAMS))
    if doc is None:
        return None
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {"title": doc.title, "authors": authors, "published": doc.date, "text": doc.text or "",
            "flags": [], "published_from": None}


def _both(args: tuple[str, bytes, str]) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    logging.disable(logging.WARNING)
    key, body, url = args
    return key, run_ours(body, url), run_plain(body, url)


def load(bench: Path) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    """Ground truth and raw page bytes per key."""
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    return truth, pages


def fundus_text(entry: dict[str, Any]) -> str:
    """The article text of a fundus entry: summary, then each section's headlines and paragraphs."""
    parts = list(entry.get("summary") or [])
    for section in entry.get("sections") or []:
        parts += list(section.get("headline") or []) + list(section.get("paragraphs") or [])
    return "\n".join(parts)


def _ws(text: str | None) -> str:
    return " ".join((text or "").split())


@dataclasses.dataclass
class Score:
    """Figures of one extractor on one set of pages."""

    n: int = 0
    title: float = 0.0
    authors: float = 0.0
    people: float = 0.0  # authors on the pages whose truth names someone (a byline missed or garbled shows here)
    date: float = 0.0
    wrong_dates: int = 0
    leaks: int = 0
    f1: float = 0.0
    rejected: int = 0

    def row(self, name: str) -> str:
        """One table row."""
        return (f"  {name:<22} {self.n:>4} {self.title:>6.3f} {self.authors:>7.3f} {self.people:>6.3f} {self.date:>6.3f} "
                f"{self.wrong_dates:>6} {self.leaks:>6} {self.f1:>7.4f} {self.rejected:>8}")


HEADER = (f"  {'extractor':<22} {'n':>4} {'title':>6} {'authors':>7} {'people':>6} {'date':>6} {'wrong':>6} {'leaks':>6} "
          f"{'text F1':>7} {'rejected':>8}")


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def score_fundus(truth: dict[str, dict[str, Any]], results: dict[str, dict[str, Any] | None]) -> Score:
    """Title / authors / date accuracy, wrong dates and shingle text F1 against fundus' values."""
    s = Score(n=len(truth))
    title = authors = date = people = named = 0
    for key, entry in truth.items():
        r = results.get(key) or {}
        s.rejected += key not in results or results[key] is None
        title += norm(r.get("title")) == norm(entry["title"])
        same = {norm(a) for a in r.get("authors") or []} == {norm(a) for a in entry["authors"]}
        authors += same
        if any(norm(a) for a in entry["authors"]):
            named += 1
            people += same
        ok = same_date(r.get("published"), entry["published"])
        date += ok
        s.wrong_dates += bool(r.get("published")) and not ok
    s.title, s.authors, s.date = _ratio(title, s.n), _ratio(authors, s.n), _ratio(date, s.n)
    s.people = _ratio(people, named)
    s.f1 = evaluate({k: fundus_text(v) for k, v in truth.items()},
                    {k: (results.get(k) or {}).get("text") for k in truth}).f1
    return s


def score_eval(truth: dict[str, dict[str, Any]], results: dict[str, dict[str, Any] | None]) -> Score:
    """Snippet F1 (summed over pages), comment leaks, and exact title / author / date on annotated pages."""
    s = Score(n=len(truth))
    found_with = found_without = all_with = 0
    counts = {"title": [0, 0], "author": [0, 0], "people": [0, 0], "date": [0, 0]}
    for key, entry in truth.items():
        r = results.get(key) or {}
        s.rejected += results.get(key) is None
        text = _ws(r.get("text"))
        found_with += sum(_ws(snippet) in text for snippet in entry["with"] or [])
        found_without += sum(_ws(snippet) in text for snippet in entry["without"] or [])
        all_with += len(entry["with"] or [])
        s.leaks += bool(text) and any(_ws(c) in text for c in entry["comments"] or [] if _ws(c))
        if entry["title"] is not None:
            counts["title"][1] += 1
            counts["title"][0] += norm(r.get("title")) == norm(entry["title"])
        if entry["author"] is not None:
            want = entry["author"] if isinstance(entry["author"], list) else entry["author"].split(";")
            same = {norm(a) for a in r.get("authors") or []} == {norm(a) for a in want if norm(a)}
            counts["author"][1] += 1
            counts["author"][0] += same
            if any(norm(a) for a in want):
                counts["people"][1] += 1
                counts["people"][0] += same
        if entry["date"] is not None:
            got = (r.get("published") or "")[:10]
            counts["date"][1] += 1
            counts["date"][0] += got == entry["date"]
            s.wrong_dates += bool(got) and got != entry["date"]
    precision = _ratio(found_with, found_with + found_without)
    recall = _ratio(found_with, all_with)
    s.f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    s.title, s.authors, s.people, s.date = (_ratio(*counts[f]) for f in ("title", "author", "people", "date"))
    return s


SCORERS: dict[str, Callable[[dict[str, dict[str, Any]], dict[str, dict[str, Any] | None]], Score]] = {
    "fundus": score_fundus, "trafilatura-eval": score_eval}


def bench_hash(bench: Path) -> str:
    """sha256 of ground-truth.json, pinning the data a floor was measured on."""
    return hashlib.sha256((bench / "ground-truth.json").read_bytes()).hexdigest()


def check(name: str, bench: Path, ours: Score) -> int:
    """Compare the whole set's figures with the pinned floors; 0 ok, 1 below, 2 other data."""
    floors = json.loads(FLOOR_FILE.read_text(encoding="utf-8"))[name]
    if floors["bench_sha256"] != bench_hash(bench):
        print("FAIL: benchmark data differs from the one the floors were measured on")
        return 2
    failures = [f"{field} {getattr(ours, field):.4f} < {floors[field]}" for field in
                ("title", "authors", "people", "date", "f1") if getattr(ours, field) < floors.get(field, 0.0)]
    failures += [f"{field} {getattr(ours, field)} > {floors[field]}" for field in ("wrong_dates", "leaks")
                 if getattr(ours, field) > floors[field]]
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK: " + ", ".join(f"{f} {getattr(ours, f):.4g} (floor {floors.get(f, 0.0)})" for f in
                             ("title", "authors", "people", "date", "wrong_dates", "leaks", "f1")))
    return 0


def pin(name: str, bench: Path, ours: Score) -> None:
    """Pin ``ours`` as the set's floors; a figure never moves down (up for wrong dates and leaks)."""
    floors = json.loads(FLOOR_FILE.read_text(encoding="utf-8")) if FLOOR_FILE.is_file() else {}
    old = floors.get(name, {}) if floors.get(name, {}).get("bench_sha256") == bench_hash(bench) else {}
    new: dict[str, Any] = {"bench_sha256": bench_hash(bench)}
    for field in ("title", "authors", "people", "date", "f1"):
        new[field] = max(math.floor(getattr(ours, field) * 10000) / 10000, old.get(field, 0.0))  # never above the figure
    for field in ("wrong_dates", "leaks"):
        new[field] = min(getattr(ours, field), old.get(field, getattr(ours, field)))
    floors[name] = new
    FLOOR_FILE.write_text(json.dumps(floors, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"pinned {name}: {new}")


def main(argv: list[str] | None = None) -> int:
    """Run autonews and trafilatura alone on one set, print the table, optionally check the floors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), required=True)
    parser.add_argument("--bench", type=Path, help="the set's directory (default ../shared/bench/<set>)")
    parser.add_argument("--check", action="store_true", help="exit 1 if below metadata_floor.json")
    parser.add_argument("--pin", action="store_true",
                        help="write this run's whole-set figures to metadata_floor.json (floors only move up)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--dump", type=Path, help="write every page's truth and both results here (JSON)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    bench = args.bench or BENCH_ROOT / SETS[args.set]
    if not (bench / "ground-truth.json").is_file():
        print(f"no benchmark at {bench} (expected ground-truth.json and html/)")
        return 2
    truth, pages = load(bench)
    work = [(key, body, truth[key]["url"]) for key, body in pages.items()]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            done = list(pool.map(_both, work, chunksize=4))
    else:
        done = [_both(item) for item in work]
    ours = {key: o for key, o, _ in done}
    plain = {key: p for key, _, p in done}
    scorer = SCORERS[args.set]
    print(f"set: {args.set} ({bench}, {len(pages)} pages)")
    print(HEADER)
    whole = None
    for part, keep in (("all", lambda k: True), ("dev", is_dev), ("held-out", lambda k: not is_dev(k))):
        subset = {k: v for k, v in truth.items() if keep(k)}
        mine, theirs = scorer(subset, ours), scorer(subset, plain)
        whole = whole or mine
        print(mine.row(f"autonews [{part}]"))
        print(theirs.row(f"trafilatura [{part}]"))
    if args.dump:
        args.dump.write_text(json.dumps({k: {"truth": {f: v for f, v in truth[k].items() if f != "sections"},
                                             "ours": {f: v for f, v in (ours[k] or {}).items() if f != "text"},
                                             "plain": {f: v for f, v in (plain[k] or {}).items() if f != "text"},
                                             "ours_text": (ours[k] or {}).get("text"),
                                             "plain_text": (plain[k] or {}).get("text"),
                                             "truth_text": fundus_text(truth[k]) if args.set == "fundus" else None}
                                         for k in truth}, ensure_ascii=False, indent=1), encoding="utf-8")
    assert whole is not None
    if args.pin:
        pin(args.set, bench, whole)
    if args.check:
        return check(args.set, bench, whole)
    return 0


if __name__ == "__main__":
    sys.exit(main())
