"""Generate a synthetic auto-news site of N distinct English articles, for load and kill tests.

Every article is different text (seeded, so the same N and seed give the same
site), long enough to pass extraction, English enough for langdetect, and far
from every other article for near-duplicate detection. Serve it with
``DemoServer(root=...)``; the generated registry uses ``{{BASE}}``.
"""

from __future__ import annotations

import argparse
import html
import random
from pathlib import Path

COMPANIES = ("Stellantis", "Leapmotor", "Volkswagen", "Toyota", "Hyundai", "Renault", "BYD", "Geely", "Ford",
             "General Motors", "Nissan", "Honda", "Kia", "Volvo", "Polestar", "Rivian", "Lucid", "Tesla", "BMW",
             "Mercedes-Benz", "Tata Motors", "Mahindra", "SAIC", "NIO", "XPeng", "Zeekr", "Great Wall", "Chery")
PLACES = ("Ohio", "Bavaria", "Guangdong", "Kentucky", "Valencia", "Hungary", "Ontario", "Tamil Nadu", "Saxony",
          "Georgia", "Thailand", "Morocco", "Poland", "Indiana", "Catalonia", "Jiangsu", "Nevada", "Quebec")
THINGS = ("a battery cell plant", "a solid-state battery pilot line", "a software-defined vehicle platform",
          "an electric pickup truck", "a hydrogen fuel cell program", "a charging network", "a recycling joint venture",
          "a compact electric SUV", "a lidar supply agreement", "a chip sourcing deal", "an autonomous taxi service",
          "a plug-in hybrid family", "a sodium-ion battery", "an electric van for fleets", "a new paint shop")
VERBS = ("announced", "confirmed", "delayed", "expanded", "scaled back", "accelerated", "reviewed", "financed",
         "opened talks about", "signed a memorandum on", "won approval for", "paused work on")
WHEN = ("next spring", "in 2027", "by the end of the decade", "this quarter", "within two years", "in 2029",
        "before the summer", "after the elections", "later this month", "from next year", "in 2030", "by autumn")
WHY = ("citing strong demand", "after weak sales", "despite new tariffs", "to cut battery costs",
       "as subsidies expire", "under pressure from investors", "to meet emission targets", "amid a price war",
       "following a software recall", "with help from local banks", "to win fleet customers", "after a long strike")
SOURCES = ("analysts at {firm} said", "a spokesperson for {co} said", "union officials in {place} said",
           "people close to {co} said", "dealers in {place} reported", "a filing with regulators showed",
           "{firm} estimated", "executives at {co} told reporters")
FIRMS = ("Bernstein", "UBS", "Morgan Stanley", "Jefferies", "S&P Global Mobility", "BloombergNEF", "Citi",
         "Barclays", "Goldman Sachs", "Evercore", "Wolfe Research", "Rho Motion")
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"><meta name="author" content="{author}">
<meta property="article:published_time" content="{date}T08:00:00+00:00">
<link rel="canonical" href="{{{{BASE}}}}/articles/{slug}/"></head>
<body><header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By {author} | {date}</p>
{paragraphs}
</article></main>
<footer><p>Copyright 2026 Synthetic Auto Wire. All rights reserved.</p></footer></body></html>
"""


def article(rng: random.Random, index: int) -> dict[str, str]:
    """Return one article: slug, title, author, date and paragraphs (HTML)."""
    company = rng.choice(COMPANIES)
    place, thing, verb = rng.choice(PLACES), rng.choice(THINGS), rng.choice(VERBS)
    title = f"{company} {verb} {thing} in {place}"
    paragraphs = []
    for _ in range(rng.randint(4, 7)):
        sentences = []
        for _ in range(rng.randint(3, 4)):
            source = rng.choice(SOURCES).format(firm=rng.choice(FIRMS), co=rng.choice(COMPANIES), place=rng.choice(PLACES))
            sentences.append(f"{source[0].upper() + source[1:]} that {rng.choice(COMPANIES)} {rng.choice(VERBS)} "
                             f"{rng.choice(THINGS)} in {rng.choice(PLACES)} {rng.choice(WHEN)}, {rng.choice(WHY)}, "
                             f"with {rng.randint(2, 950)} million dollars and {rng.randint(120, 9800)} jobs at stake.")
        paragraphs.append("<p>" + html.escape(" ".join(sentences)) + "</p>")
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return {"slug": f"story-{index:06d}", "title": title, "author": f"Reporter {index % 37}",
            "date": f"2026-{month:02d}-{day:02d}", "paragraphs": "\n".join(paragraphs)}


def generate_site(root: Path, count: int, seed: int = 0) -> Path:
    """Write ``count`` articles, a feed, a sitemap, robots.txt and ``sources.yaml`` under ``root``.

    Returns the registry path. The feed lists the newest 20 articles, the sitemap
    all of them, so discovery goes through both.
    """
    rng = random.Random(seed)
    urls = []
    for index in range(count):
        item = article(rng, index)
        target = root / "articles" / item["slug"]
        target.mkdir(parents=True, exist_ok=True)
        (target / "index.html").write_text(PAGE.format(**{k: html.escape(v) if k != "paragraphs" else v
                                                          for k, v in item.items()}), encoding="utf-8")
        urls.append(f"{{{{BASE}}}}/articles/{item['slug']}/")
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    (root / "sitemap.xml").write_text(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
        encoding="utf-8")
    items = "".join(f"<item><title>Story {i}</title><link>{u}</link></item>" for i, u in enumerate(urls[-20:]))
    (root / "feed.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Synthetic</title>'
                                   f"{items}</channel></rss>", encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    registry = root / "sources.yaml"
    registry.write_text("sources:\n  - name: synthetic\n    feeds: ['{{BASE}}/feed.xml']\n"
                        "    sitemaps: ['{{BASE}}/sitemap.xml']\n    language: en\n", encoding="utf-8")
    return registry


def main() -> None:
    """``python -m crawler.demo.generate DIR --count N``: write a synthetic site."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate_site(args.root, args.count, args.seed))


if __name__ == "__main__":
    main()
