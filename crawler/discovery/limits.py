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
  (`MAX_ARTICLES_PER_SOURCE` by default; 0 means no limit, as Scrapy's own limits do); once that is
  full, the rest of the document at hand is not looked at and no further child sitemap of the
  source is fetched or parsed.

Re-fetches of stored articles have a budget of their own (README "Updated articles"), so they
neither use up nor get around the cap above: at most ``AUTONEWS_MAX_RECHECKS_PER_SOURCE`` per
source and run (`MAX_RECHECKS_PER_SOURCE`), none of one article sooner than
``AUTONEWS_RECHECK_MIN_HOURS`` after its last fetch (`RECHECK_MIN_HOURS`), and at most
``AUTONEWS_MAX_VERSIONS_PER_DAY`` new versions of one article written per UTC day
(``pipelines.dedupe.pipeline.MAX_VERSIONS_PER_DAY``). A page found not to be an article is not fetched again for
``AUTONEWS_NOT_ARTICLE_DAYS`` (`NOT_ARTICLE_DAYS`). 0 turns each of them off.
"""

from __future__ import annotations

MAX_SITEMAP_URLS = 50_000
MAX_INDEX_SITEMAPS = 50_000
MAX_ARTICLES_PER_SOURCE = 10_000
MAX_RECHECKS_PER_SOURCE = 20
RECHECK_MIN_HOURS = 24.0
NOT_ARTICLE_DAYS = 30.0
