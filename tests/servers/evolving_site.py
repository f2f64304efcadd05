"""A news site that changes between crawl runs, for the run-health tests (served with ``DemoServer``).

Three sources, each with its own RSS feed, three new articles per run:

- ``steady`` publishes dated articles with an author every run;
- ``fading`` does too, until ``undated_from``: from that run on its new articles still extract
  but carry no date and no author (a layout change that lost the metadata);
- ``stale`` publishes until ``stale_from``; from that run on its feed never changes again.

Article texts come from the synthetic generator (distinct, English, far from each other for
near-duplicate detection). Feeds carry no dates, so a page's date can only come from the page.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

from crawler.demo.generate import article

PER_RUN = 3
DATED = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"><meta name="author" content="{author}">
<meta property="article:published_time" content="{date}T08:00:00+00:00"></head>
<body><main><article><h1>{title}</h1><p class="byline">By {author} | {date}</p>
{paragraphs}
</article></main></body></html>
"""
# The same story after the site's redesign: no author, no date anywhere.
UNDATED = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"></head>
<body><main><article><h1>{title}</h1>
{paragraphs}
</article></main></body></html>
"""
SOURCES = ("steady", "fading", "stale")
# Real-looking bylines: the extractor rejects "Reporter 12" as a name.
AUTHORS = ("Maria Jensen", "Tom Okafor", "Lena Fischer", "Ravi Menon", "Claire Dubois", "Sam Whitaker")


def write_run(root: Path, run: int, undated_from: int = 7, stale_from: int = 5) -> Path:
    """Make the site as it is at crawl run ``run`` (1-based); return the registry (uses ``{{BASE}}``)."""
    for name in SOURCES:
        runs = min(run, stale_from - 1) if name == "stale" else run
        links = []
        for index in range(runs * PER_RUN):
            slug = f"{name}-story-{index:03d}"
            page = root / name / slug / "index.html"
            links.append(f"{{{{BASE}}}}/{name}/{slug}/")
            if page.exists():
                continue  # published pages never change
            item = article(random.Random(f"{name}-{index}"), index)
            item["author"] = AUTHORS[index % len(AUTHORS)]
            template = UNDATED if name == "fading" and index >= (undated_from - 1) * PER_RUN else DATED
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(template.format(**{k: v if k == "paragraphs" else html.escape(v) for k, v in item.items()}),
                            encoding="utf-8")
        items = "".join(f"<item><title>Story {i}</title><link>{u}</link></item>" for i, u in enumerate(reversed(links)))
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "feed.xml").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>',
            encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    registry = root / "sources.yaml"
    registry.write_text("sources:\n" + "".join(f"  - name: {name}\n    feeds: ['{{{{BASE}}}}/{name}/feed.xml']\n"
                                               "    language: en\n" for name in SOURCES), encoding="utf-8")
    return registry
