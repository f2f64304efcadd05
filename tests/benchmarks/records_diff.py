"""What a change of code does to the records of the 181 article-extraction-benchmark pages.

    python -m tests.benchmarks.records_diff [--against REF] [--bench DIR] [--jobs N] [--examples K] [--strict]

Computes every page's record twice, with the working tree's code and with the code of git ref REF
(default ``ff4c9ae``, the code before the performance work of issue 12; any commit, branch or tag):
``pipelines.extract.article.extract_article(body, url)`` then
``pipelines.language.detect.detect_languages(text, title, declared_languages)``, as the crawl does.
REF's code is exported with ``git archive REF | tar -x`` into a temp dir, and each side runs in a
child process of this venv's python with PYTHONPATH (and the working directory) set to its tree,
so that side's ``pipelines`` is the one imported (the child reports the path it imported, and a
mismatch stops the run). Each child extracts with a pool of ``--jobs`` processes (default 2).
Arguments the two versions name differently are passed by introspection of the signatures.

Prints, per field (title, authors, published, ..., language, languages, language flags), the number
of pages whose value changed among pages that are articles in both versions, with a few examples
``old -> new``; the pages that stopped or started being articles; and for the text, each page's F1
against the ground truth before and after (scored as tests/benchmarks/scoring.py does), the pages
whose F1 fell with the delta, and the benchmark's aggregate F1 before and after.

Exits 0 (it reports; 2 when REF names no commit or the benchmark is missing) unless ``--strict``:
then 1 when a page's text F1 fell by more than 0.005, a page stopped being an article, or a page
raised an error that it did not raise before. The set has no metadata truth, so metadata changes
are only reported.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.benchmarks.quality import DEFAULT_BENCH, load_bench
from tests.benchmarks.scoring import evaluate, score_page

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REF = "ff4c9ae"
F1_TOLERANCE = 0.005
RECORD_FIELDS = ("title", "authors", "published", "published_from", "modified", "description", "site_name", "image",
                 "tags", "text", "flags", "amp_canonical", "canonical_hint", "declared_languages")
# record field name -> field of detect_languages' result
LANGUAGE_FIELDS = {"language": "language", "languages": "languages", "language_flags": "flags"}
FIELDS = (*RECORD_FIELDS, *LANGUAGE_FIELDS)
MISSING = "<field absent>"

Record = dict[str, Any]
Records = Mapping[str, Record | None]  # page id -> flat record, None when the page is not an article

# Run in a child with the version's tree first on sys.path. It imports nothing from tests/ (REF's
# tests may differ or be absent): it reads the benchmark pages itself.
EXTRACT_SCRIPT = textwrap.dedent('''
    import dataclasses, gzip, inspect, json, multiprocessing, sys
    from pathlib import Path
    import pipelines
    from pipelines.extract.article import extract_article
    try:
        from pipelines.language.detect import detect_languages
    except ImportError:
        detect_languages = None

    BENCH, JOBS = Path(sys.argv[1]), int(sys.argv[2])
    EXTRACT_PARAMS = inspect.signature(extract_article).parameters
    DETECT_PARAMS = inspect.signature(detect_languages).parameters if detect_languages else {}

    def plain(value):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        return value._asdict() if hasattr(value, "_asdict") else value

    def language_kwargs(page):
        kwargs = {}
        if "title" in DETECT_PARAMS:
            kwargs["title"] = page.get("title")
        for name in ("declared", "declared_languages"):
            if name in DETECT_PARAMS:
                kwargs[name] = page.get("declared_languages") or page.get("_declared_languages") or ()
        return kwargs

    def record(item):
        key, url = item
        try:
            body = gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes())
            page = plain(extract_article(body, url, **({"encoding": "utf-8"} if "encoding" in EXTRACT_PARAMS else {})))
            language = None
            if page is not None and detect_languages is not None:
                language = plain(detect_languages(page.get("text") or "", **language_kwargs(page)))
            return {"key": key, "record": page, "language": language}
        except Exception as exc:
            return {"key": key, "error": f"{type(exc).__name__}: {exc}"}

    if __name__ == "__main__":
        truth = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
        items = sorted((key, value["url"]) for key, value in truth.items())
        print(json.dumps({"pipelines": pipelines.__file__}), flush=True)
        record(items[0])  # imports, caches and language profiles loaded once, inherited by the forked workers
        with multiprocessing.get_context("fork").Pool(JOBS) as pool:
            for line in pool.imap(record, items, chunksize=4):
                print(json.dumps(line, ensure_ascii=False, default=str))
''')


def resolve_ref(ref: str, repo: Path = REPO) -> str:
    """The full commit hash ``ref`` names in ``repo``; ValueError when it names none."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"not a git commit: {ref!r}")
    return proc.stdout.strip()


def export_ref(commit: str, dest: Path, repo: Path = REPO) -> None:
    """Write the tree of ``commit`` into ``dest`` (``git archive | tar -x``)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", "-C", str(repo), "archive", commit], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, capture_output=True)
    assert archive.stdout is not None
    archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        raise RuntimeError(f"git archive {commit} | tar -x failed: {untar.stderr.decode(errors='replace')[-300:]}")


def compute_records(root: Path, bench: Path, jobs: int) -> tuple[Records, dict[str, str]]:
    """Records of every page with the code under ``root``; also the errors raised, by page id."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-c", EXTRACT_SCRIPT, str(bench), str(jobs)], cwd=root, env=env,
                          capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"extraction with the code in {root} failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")
    imported = Path(json.loads(lines[0])["pipelines"]).resolve()
    if not imported.is_relative_to(root.resolve()):
        raise RuntimeError(f"the child imported {imported}, not the code under {root}")
    records: dict[str, Record | None] = {}
    errors: dict[str, str] = {}
    for line in lines[1:]:
        entry = json.loads(line)
        if "error" in entry:
            errors[entry["key"]] = entry["error"]
            records[entry["key"]] = None
        else:
            records[entry["key"]] = flat_record(entry)
    return records, errors


def flat_record(entry: Mapping[str, Any]) -> Record | None:
    """One child's line as a flat record: the extracted fields plus the language fields; None: not an article.

    A field the version does not produce is left out (and compares as ``MISSING``).
    """
    page = entry.get("record")
    if page is None:
        return None
    flat = {name: page[name] for name in RECORD_FIELDS if name in page}
    if "declared_languages" not in flat and "_declared_languages" in page:  # an older spelling
        flat["declared_languages"] = page["_declared_languages"]
    language = entry.get("language") or {}
    flat.update({name: language[source] for name, source in LANGUAGE_FIELDS.items() if source in language})
    return flat


def article_changes(old: Records, new: Records) -> tuple[list[str], list[str]]:
    """Pages that stopped being articles and pages that became articles, each sorted."""
    keys = sorted(old.keys() | new.keys())
    stopped = [k for k in keys if old.get(k) is not None and new.get(k) is None]
    became = [k for k in keys if old.get(k) is None and new.get(k) is not None]
    return stopped, became


def changed_fields(old: Records, new: Records, fields: Iterable[str] = FIELDS) -> dict[str, list[str]]:
    """Per field, the pages (articles in both versions) whose value differs, sorted."""
    both = sorted(k for k in old.keys() & new.keys() if old[k] is not None and new[k] is not None)
    return {name: [k for k in both if old[k].get(name, MISSING) != new[k].get(name, MISSING)]  # type: ignore[union-attr]
            for name in fields}


def page_f1(truth: str | None, text: str | None) -> float:
    """F1 of one page's text against its ground truth, from the benchmark's shingle precision and recall."""
    score = score_page(truth, text)
    p, r = score.precision, score.recall
    return 2 * p * r / (p + r) if p + r else 0.0


def text_of(record: Record | None) -> str | None:
    """A record's text; None for a page that is not an article (scored as an empty prediction)."""
    return record.get("text") if record is not None else None


def f1_changes(truth: Mapping[str, str], old: Records, new: Records) -> dict[str, tuple[float, float]]:
    """Per page whose text changed or whose article status changed: (F1 before, F1 after)."""
    out = {}
    for key in sorted(truth):
        before, after = text_of(old.get(key)), text_of(new.get(key))
        if before != after:
            out[key] = (page_f1(truth[key], before), page_f1(truth[key], after))
    return out


def strict_failures(f1s: Mapping[str, tuple[float, float]], stopped: Iterable[str], errors: Iterable[str],
                    tolerance: float = F1_TOLERANCE) -> list[str]:
    """Why ``--strict`` fails: pages whose F1 fell by more than ``tolerance``, stopped articles, new errors."""
    reasons = [f"{short_key(key)}: text F1 {a:.4f} -> {b:.4f} ({b - a:+.4f})" for key, (a, b) in sorted(f1s.items())
               if b < a - tolerance]
    reasons += [f"{short_key(key)}: no longer an article" for key in stopped]
    reasons += [f"{short_key(key)}: raised an error" for key in errors]
    return reasons


def shorten(value: Any, width: int = 90) -> str:
    """A value as one short line: JSON for lists and dicts, repr for strings, the middle cut when too long."""
    if value == MISSING:
        text = value
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = repr(value)
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    half = (width - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def short_key(key: str) -> str:
    """A page id as printed: its first 12 characters (ids are 64 hex digits; 12 find the file)."""
    return key[:12]


def absent_side(name: str, keys: list[str], old: Records, new: Records) -> str | None:
    """"before" or "after" when ``name`` is absent from every changed record of that version (a new or
    dropped field, not a change of value), else None."""
    for side, records in (("before", old), ("after", new)):
        if all(name not in (records[k] or {}) for k in keys):
            return side
    return None


def field_lines(changes: Mapping[str, list[str]], old: Records, new: Records, examples: int) -> list[str]:
    """The per-field count of changed pages, and up to ``examples`` ``old -> new`` examples per field but text."""
    lines = ["field               pages changed (among pages that are articles in both)"]
    for name, keys in changes.items():
        absent = absent_side(name, keys, old, new) if keys else None
        lines.append(f"  {name:<18} {len(keys)}" + (f" (no such field {absent})" if absent else ""))
    for name, keys in changes.items():
        # the text is judged by its F1 below; a field one version lacks has no values to compare
        if not keys or name == "text" or absent_side(name, keys, old, new):
            continue
        lines.append(f"  {name}: e.g.")
        for key in keys[:examples]:
            lines.append(f"    {short_key(key)}: {shorten(old[key].get(name, MISSING))}")  # type: ignore[union-attr]
            lines.append(f"          -> {shorten(new[key].get(name, MISSING))}")  # type: ignore[union-attr]
    return lines


def text_lines(truth: Mapping[str, str], old: Records, new: Records, f1s: Mapping[str, tuple[float, float]],
               examples: int) -> list[str]:
    """Aggregate F1 before and after, the pages whose F1 fell (all, with deltas) and a few that rose."""
    before = evaluate(truth, {k: text_of(r) for k, r in old.items()})
    after = evaluate(truth, {k: text_of(r) for k, r in new.items()})
    fell = sorted(((b - a, k) for k, (a, b) in f1s.items() if b < a))
    rose = sorted(((b - a, k) for k, (a, b) in f1s.items() if b > a), reverse=True)
    lines = [f"text: benchmark F1 {before.f1:.4f} -> {after.f1:.4f} ({after.f1 - before.f1:+.4f}), "
             f"P {before.precision:.4f} -> {after.precision:.4f}, R {before.recall:.4f} -> {after.recall:.4f}; "
             f"text changed on {len(f1s)} pages: page F1 fell on {len(fell)}, rose on {len(rose)}, "
             f"same on {len(f1s) - len(fell) - len(rose)}"]
    lines += [f"  fell  {short_key(key)}: {f1s[key][0]:.4f} -> {f1s[key][1]:.4f} ({delta:+.4f})" for delta, key in fell]
    lines += [f"  rose  {short_key(key)}: {f1s[key][0]:.4f} -> {f1s[key][1]:.4f} ({delta:+.4f})"
              for delta, key in rose[:examples]]
    if len(rose) > examples:
        lines.append(f"  ... and {len(rose) - examples} more pages whose F1 rose")
    return lines


def report(truth: Mapping[str, str], old: Records, new: Records, old_errors: Mapping[str, str],
           new_errors: Mapping[str, str], examples: int) -> tuple[list[str], list[str]]:
    """The whole comparison as lines, and the ``--strict`` failure reasons."""
    stopped, became = article_changes(old, new)
    count = lambda records: sum(r is not None for r in records.values())  # noqa: E731
    lines = [f"articles: {count(old)} before, {count(new)} after; stopped being an article: "
             f"{', '.join(map(short_key, stopped)) or 'none'}; became an article: "
             f"{', '.join(map(short_key, became)) or 'none'}"]
    for side, errors in (("before", old_errors), ("after", new_errors)):
        if errors:
            shown = "; ".join(f"{short_key(k)}: {e}" for k, e in sorted(errors.items())[:examples])
            more = f" (and {len(errors) - examples} more)" if len(errors) > examples else ""
            lines.append(f"errors {side}: {shown}{more}")
    lines += field_lines(changed_fields(old, new), old, new, examples)
    f1s = f1_changes(truth, old, new)
    lines += text_lines(truth, old, new, f1s, examples)
    return lines, strict_failures(f1s, stopped, sorted(new_errors.keys() - old_errors.keys()))


def main(argv: list[str] | None = None) -> int:
    """Compute the records with both versions, print what changed; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=DEFAULT_REF, metavar="REF",
                        help=f"git ref of the code to compare with (default {DEFAULT_REF})")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--jobs", type=int, default=2, help="extraction processes per version (default 2)")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per changed field (default 3)")
    parser.add_argument("--strict", action="store_true",
                        help=f"exit 1 if a page's text F1 fell by more than {F1_TOLERANCE}, a page stopped being "
                             "an article or raised an error")
    args = parser.parse_args(argv)
    if not (args.bench / "ground-truth.json").is_file():
        print(f"no benchmark at {args.bench}")
        return 2
    started = time.perf_counter()
    try:
        commit = resolve_ref(args.against)
    except ValueError as exc:
        print(exc)
        return 2
    truth_data, _ = load_bench(args.bench)
    truth = {key: value["articleBody"] for key, value in truth_data.items()}
    with tempfile.TemporaryDirectory(prefix="autonews-records-diff-") as tmp:
        export_ref(commit, Path(tmp))
        t0 = time.perf_counter()
        old, old_errors = compute_records(Path(tmp), args.bench, args.jobs)
        t1 = time.perf_counter()
        new, new_errors = compute_records(REPO, args.bench, args.jobs)
        t2 = time.perf_counter()
    print(f"records_diff: {len(truth)} pages of {args.bench.name}, before = {args.against} ({commit[:10]}), "
          f"after = the working tree {REPO}; pages named by the first 12 characters of their id")
    lines, failures = report(truth, old, new, old_errors, new_errors, args.examples)
    print("\n".join(lines))
    print(f"total time {time.perf_counter() - started:.1f} s (extraction: before {t1 - t0:.1f} s, "
          f"after {t2 - t1:.1f} s, {args.jobs} processes each)")
    if failures:
        print(("FAIL" if args.strict else "would fail --strict") + ":\n  " + "\n  ".join(failures))
    elif args.strict:
        print("OK: no page's text F1 fell by more than "
              f"{F1_TOLERANCE}, no page stopped being an article, no new error")
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main())
