"""How much one discovery document, and one source, may put into a crawl.

A hostile or broken site can list millions of URLs in a few hundred kilobytes of gzip (a
200,000-entry sitemap compresses to 0.5 MB). Every URL kept becomes a scheduled request held
in memory, so discovery is bounded at three levels; nothing over a bound is queued, all of it
is counted (the spider's stats: ``crawler/spiders/news.py``):

- one sitemap (or feed, or text sitemap) yields at most `MAX_SITEMAP_URLS` article URLs and
  one sitemap index at most `MAX_INDEX_SITEMAPS` child sitemaps: the sitemap protocol's own
  limits (https://www.sitemaps.org/protocol.html#index). The parsers stop building entries at
  the bound and only count the rest, over a streaming parse that never holds the whole tree;
- one source queues at most ``AUTONEWS_MAX_ARTICLES_PER_SOURCE`` article requests per run
  (`MAX_ARTICLES_PER_SOURCE` by default; 0 means no limit, as Scrapy's own limits do).
"""

from __future__ import annotations

MAX_SITEMAP_URLS = 50_000
MAX_INDEX_SITEMAPS = 50_000
MAX_ARTICLES_PER_SOURCE = 10_000
