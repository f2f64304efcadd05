"""Language flagging on the article-extraction benchmark: flag accuracy and cost against extraction.

Usage, from the repository root: python -m tests.benchmarks.language [--bench ../shared/bench/article-extraction-benchmark]
[--budget N] [--max-wrong N] (or python tests/benchmarks/language.py ...)

For each page: title, text and declared languages from pipelines.extract.article.extract_article (trafilatura
bare_extraction with include_comments=False when that returns nothing), then detect_languages. Truth for
"is it English" is seeded langdetect on the ground-truth articleBody (whole text). Prints every page where
the non_english flag disagrees with that truth, the flag accuracy, mixed_language/language_unknown counts,
and the per-article mean time of detection versus trafilatura.extract(include_comments=False).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipelines.language.codes import parse_declared  # noqa: E402
from pipelines.language.detect import detect_languages  # noqa: E402

DEFAULT_BENCH = REPO.parent / "shared" / "bench" / "article-extraction-benchmark"


def truth_language(text: str, factory: DetectorFactory) -> str | None:
    """Seeded langdetect (default 7 trials) on a whole ground-truth text."""
    detector = factory.create()
    detector.append(text)
    try:
        return detector.detect()
    except Exception:  # noqa: BLE001 - any failure just means no truth for this page
        return None


def page_fields(html: str, url: str) -> dict[str, Any]:
    """Title, text and declared languages the pipeline would see for this page."""
    try:
        from pipelines.extract.article import extract_article
        fields = extract_article(html.encode("utf-8"), url, "utf-8")
    except Exception:  # noqa: BLE001 - the extractor may be absent or mid-rewrite; fall back
        fields = None
    if fields:
        if not isinstance(fields, dict):  # ExtractedPage
            fields = {"title": fields.title, "text": fields.text, "_declared_languages": fields.declared_languages}
        return {"title": fields.get("title"), "text": fields.get("text") or "",
                "declared": list(fields.get("_declared_languages") or []), "via": "extract_article"}
    doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    tree = lxml.html.fromstring(html.encode("utf-8"))
    declared = [v for v in tree.xpath("//html/@lang") + tree.xpath('//meta[@property="og:locale"]/@content')]
    title = getattr(doc, "title", None) if doc else None
    text = (getattr(doc, "text", "") or "") if doc else ""
    return {"title": title, "text": text, "declared": declared, "via": "trafilatura"}


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--budget", type=int, default=None, help="char budget (default: module default)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--max-wrong", type=int, default=None, help="exit 1 when more pages than this are flagged wrongly")
    args = parser.parse_args()

    truth_json = json.loads((args.bench / "ground-truth.json").read_text(encoding="utf-8"))
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    detect_languages("warm up the detector profiles once before timing", None, ())
    kwargs = {"char_budget": args.budget} if args.budget else {}

    rows = []
    for number, (page_id, entry) in enumerate(sorted(truth_json.items())):
        if args.limit and number >= args.limit:
            break
        html = gzip.decompress((args.bench / "html" / f"{page_id}.html.gz").read_bytes()).decode("utf-8", "replace")
        start = time.perf_counter()
        trafilatura.extract(html, url=entry["url"], include_comments=False)
        extract_time = time.perf_counter() - start
        fields = page_fields(html, entry["url"])
        declared = parse_declared(fields["declared"])
        start = time.perf_counter()
        result = detect_languages(fields["text"], fields["title"], declared, **kwargs)
        detect_time = time.perf_counter() - start
        truth = truth_language(entry["articleBody"], factory)
        rows.append((page_id, entry["url"], truth, result, fields, extract_time, detect_time))

    wrong = 0
    print("disagreements (non_english flag vs langdetect on ground-truth body):")
    for page_id, url, truth, result, fields, _, _ in rows:
        flagged = "non_english" in result.flags
        if flagged != (truth != "en"):
            wrong += 1
            print(f"  {page_id[:12]} truth={truth} language={result.language} languages={result.languages} "
                  f"flags={result.flags} declared={list(result.declared)} title_language={result.title_language}"
                  f"\n    title={fields['title']!r} url={url}")
    english = [r for r in rows if r[2] == "en"]
    print("mixed_language on English-truth pages:")
    for page_id, url, _, result, fields, _, _ in english:
        if "mixed_language" in result.flags:
            print(f"  {page_id[:12]} languages={result.languages} flags={result.flags} url={url}")
    count = len(rows)
    extract_ms = statistics.mean(r[5] for r in rows) * 1000
    detect_ms = statistics.mean(r[6] for r in rows) * 1000
    print(f"pages: {count}, not English by truth: {sum(1 for r in rows if r[2] != 'en')}, "
          f"fields via extract_article: {sum(1 for r in rows if r[4]['via'] == 'extract_article')}")
    print(f"non_english flag accuracy: {count - wrong}/{count} = {(count - wrong) / count:.3f} ({wrong} wrong)")
    print(f"flags: non_english {sum('non_english' in r[3].flags for r in rows)}, "
          f"mixed_language {sum('mixed_language' in r[3].flags for r in rows)} "
          f"(on English-truth pages {sum('mixed_language' in r[3].flags for r in english)}), "
          f"language_unknown {sum('language_unknown' in r[3].flags for r in rows)}")
    print(f"per-article mean: detection {detect_ms:.2f} ms, trafilatura.extract {extract_ms:.2f} ms, "
          f"ratio {detect_ms / extract_ms:.2f} (target <= 0.25); detection max "
          f"{max(r[6] for r in rows) * 1000:.2f} ms, median {statistics.median(r[6] for r in rows) * 1000:.2f} ms")
    if args.max_wrong is not None and wrong > args.max_wrong:
        print(f"FAIL: {wrong} pages flagged wrongly (at most {args.max_wrong} allowed)")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
