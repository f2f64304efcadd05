"""The throughput benchmark's site: N distinct article pages made from the 181 benchmark pages.

Page ``i`` is benchmark page ``i % 181``. So that deduplication keeps every copy, each page
(the first copies too) gets a different word in place of every third word of its visible
text (script and style untouched), which leaves no shared 3-word shingle between two
copies, and its rel=canonical / og:url tags are removed (copies would otherwise all claim
the original article's URL). The markup, and so the extraction work, stays that of a real page.
"""
from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

BASE = "{{BASE}}"
# plain English words, so language detection still sees English text
VOCABULARY = (
    "road engine market battery station driver company report plant price model brand supply range "
    "charge launch sales dealer factory cost design motor power electric hybrid fleet service order "
    "truck vehicle wheel system network energy fuel project partner program quarter profit demand "
    "customer product segment software safety testing version feature journey highway garage city "
    "country region policy tariff subsidy investor analyst worker union contract deal capacity "
    "volume export import growth decline forecast target level record result option value share "
    "market future plan review update announcement statement interview budget output schedule"
).split()
_TAG = re.compile(r"(<!--.*?-->|<[^>]*>)", re.S)
# any script: non-Latin pages (Cyrillic, CJK...) must differ between copies too
_WORD = re.compile(r"(?<![&#\w])[^\W\d_]{2,}(?![\w;])")
_RAW_BLOCK = re.compile(r"<(script|style|textarea)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_CANONICAL = re.compile(r"""<link\b[^>]*\brel\s*=\s*["']?canonical\b[^>]*>"""
                        r"""|<meta\b[^>]*\b(?:property|name)\s*=\s*["']?og:url\b[^>]*>""", re.I)


def load_pages(bench: Path) -> list[tuple[str, bytes]]:
    """``(id, html bytes)`` of every benchmark page, in a stable order."""
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    return [(key, gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())) for key in sorted(truth)]


def _vary_markup(markup: str, swap: Callable[[re.Match[str]], str]) -> str:
    """Apply ``swap`` to the words of the text between tags (the tags themselves untouched)."""
    return "".join(part if part.startswith("<") else _WORD.sub(swap, part) for part in _TAG.split(markup))


def vary(html: str, copy: int) -> str:
    """``html`` with every third visible word replaced (seeded by ``copy``) and no canonical URL."""
    rng = random.Random(copy)
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return rng.choice(VOCABULARY) if count % 3 == 0 else match.group(0)

    html = _CANONICAL.sub("", html)
    out: list[str] = []
    last = 0
    # script/style bodies are skipped whole: a "<" inside them would derail a tag-by-tag scan
    for block in _RAW_BLOCK.finditer(html):
        out += [_vary_markup(html[last:block.start()], swap), block.group(0)]
        last = block.end()
    out.append(_vary_markup(html[last:], swap))
    return "".join(out)


def page_path(i: int) -> str:
    """URL path of page ``i``."""
    return f"/news/{i:05d}.html"


def build_site(bench: Path, root: Path, n: int, keep: int | None = None) -> tuple[Path, list[str]]:
    """Write N pages, sitemap.xml, robots.txt and a registry (beside ``root``, in its parent).

    Returns the registry path and the decoded HTML of the first ``keep`` pages (default: all), for the
    single-process loop: 10,000 pages would hold about 1.7 GB of strings in the harness for nothing.
    """
    sources = load_pages(bench)
    (root / "news").mkdir(parents=True, exist_ok=True)
    htmls: list[str] = []
    for i in range(n):
        _, body = sources[i % len(sources)]
        text = vary(body.decode("utf-8", errors="replace"), i)
        (root / page_path(i).lstrip("/")).write_text(text, encoding="utf-8")
        if keep is None or i < keep:
            htmls.append(text)
    urls = "".join(f"<url><loc>{BASE}{page_path(i)}</loc></url>\n" for i in range(n))
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n', encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    registry = root.parent / "registry.yaml"
    registry.write_text(
        "sources:\n  - name: bench\n"
        f"    sitemaps: ['{BASE}/sitemap.xml']\n    language: en\n    download_delay: 0\n", encoding="utf-8")
    return registry, htmls


def url_list(base_url: str, n: int) -> str:
    """The N page URLs, one per line (the input of trafilatura's own CLI)."""
    return "".join(f"{base_url}{page_path(i)}\n" for i in range(n))
