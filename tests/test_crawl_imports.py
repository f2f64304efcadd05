"""What the crawl process loads: its components, but none of the heavy modules it has no use for.

Every module loaded is resident (RSS) for the whole crawl, next to the pool workers': the extraction
modules and numpy live in the workers (pipelines/analysis.py), the redis client is for worker mode and
Redis state only, aiohttp only served Scrapy's remote control (off: crawler/settings.py).
"""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

# (langdetect's modules are loaded, through the settings' defaults, but its profiles never are; the spider's
# binary-body check lives in pipelines.extract.html, which imports trafilatura only to parse a page)
NOT_IN_THE_CRAWL_PROCESS = ("pipelines.extract.article", "trafilatura", "htmldate", "justext", "numpy", "datasketch",
                            "scipy", "redis", "aiohttp")

LOAD_EVERY_COMPONENT = """
import sys
from scrapy.utils.misc import load_object
import crawler.cli.crawl, crawler.spiders.news, crawler.spiders.scrape
from crawler.cli.runner import project_settings
settings = project_settings()
for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES"):
    # as Scrapy builds them: with the _BASE defaults, every key loaded (even a disabled one)
    for path in settings.get_component_priority_dict_with_base(name):
        load_object(path)
for path in settings.getdict("ADDONS"):
    load_object(path)
print(" ".join(sorted(set(sys.argv[1:]) & set(sys.modules))))
"""


def test_the_crawl_process_loads_its_components_and_nothing_heavy_besides() -> None:
    out = subprocess.run([sys.executable, "-c", LOAD_EVERY_COMPONENT, *NOT_IN_THE_CRAWL_PROCESS],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.split() == []
