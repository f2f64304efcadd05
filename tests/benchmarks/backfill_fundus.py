"""fundus' side of the backfill benchmark; runs in fundus' OWN virtual environment (its pins differ).

Standalone on purpose (no autonews import): ``python backfill_fundus.py match BENCH`` prints which
fundus-publishers pages fundus' own publisher table maps to a publisher (key -> ``country.Name``);
``python backfill_fundus.py crawl BASE START END PROCESSES PUBLISHER...`` runs
``fundus.CCNewsCrawler(..., server_address=BASE)`` over the served month and prints its counts as JSON.

The crawl is run as fundus documents it, with two choices for a like-for-like count:
``only_complete=False`` (every page fundus parsed is an article, as every page autonews extracts
is a candidate) and ``error_handling="catch"`` (a page whose parser raised still counts as done).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse


def _publisher(path: str):  # noqa: ANN202 - fundus' type, imported lazily
    from fundus import PublisherCollection

    country, name = path.split(".", 1)
    return getattr(getattr(PublisherCollection, country), name)


def match(bench: Path) -> dict[str, str]:
    """Keys of the pages whose URL host is one of their publisher's domains in fundus' table."""
    truth = json.loads((bench / "fundus-publishers" / "ground-truth.json").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for key, entry in sorted(truth.items()):
        path = f"{key.split('_', 1)[0]}.{entry['publisher']}"
        try:
            publisher = _publisher(path)
        except AttributeError:
            continue
        hosts = {urlparse(domain).netloc for domain in [publisher.domain, *publisher.deprecated_domains]}
        if urlparse(entry["url"]).netloc in hosts:
            found[key] = path
    return found


def crawl(base: str, start: str, end: str, processes: int, publishers: list[str]) -> dict[str, object]:
    """Run fundus' CC-NEWS crawler over the month; its article count and time."""
    from fundus import CCNewsCrawler

    began = time.monotonic()
    crawler = CCNewsCrawler(*(_publisher(path) for path in publishers), start=datetime.fromisoformat(start),
                            end=datetime.fromisoformat(end), processes=processes, disable_tqdm=True,
                            server_address=base)
    articles = failed = 0
    for article in crawler.crawl(only_complete=False, error_handling="catch"):
        articles += 1
        failed += getattr(article, "exception", None) is not None
    return {"articles": articles, "failed": failed, "seconds": time.monotonic() - began}


def main(argv: list[str]) -> int:
    """Entry point (see the module docstring)."""
    if argv[:1] == ["match"] and len(argv) == 2:
        print(json.dumps(match(Path(argv[1]))))
        return 0
    if argv[:1] == ["crawl"] and len(argv) >= 5:
        print(json.dumps(crawl(argv[1], argv[2], argv[3], int(argv[4]), argv[5:])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
