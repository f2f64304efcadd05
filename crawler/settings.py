"""Scrapy settings for autonews.

Every project-specific setting is prefixed ``AUTONEWS_`` and can be overridden
with ``-s KEY=VALUE`` on both ``autonews`` and ``scrapy crawl``.
"""

from __future__ import annotations

BOT_NAME = "autonews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- politeness ---------------------------------------------------------
AUTONEWS_CONTACT_URL = "https://github.com/autonews/autonews"
USER_AGENT = f"autonews/0.1 (+{AUTONEWS_CONTACT_URL})"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- robustness against hostile servers ------------------------------------
DOWNLOAD_TIMEOUT = 30
# Pages above this are skipped and counted (a 20 MB "article" is never one).
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
DEPTH_LIMIT = 6

# --- incremental discovery ----------------------------------------------------
# Feeds, sitemaps and section pages are revalidated every run (ETag / Last-Modified),
# so an unchanged feed costs a 304; article requests carry dont_cache.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_DIR = "httpcache"  # autonews crawl puts it under <output>/.httpcache
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 303, 307, 308, 404, 410, 500, 502, 503, 504]

# --- components ------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Skips article URLs already stored in an earlier run, before download.
    "crawler.middlewares.seen.SeenUrlMiddleware": 50,
    # A truncated gzip body is an error, not half an article.
    "crawler.middlewares.failures.TruncatedGzipMiddleware": 595,
    # A redirect cycle (a -> b -> a) is counted instead of vanishing in the dupefilter.
    "crawler.middlewares.failures.RedirectLoopMiddleware": 610,
}
EXTENSIONS = {
    "crawler.extensions.runstatus.RunStatus": 500,
    "crawler.extensions.report.RunReport": 510,
}
ITEM_PIPELINES = {
    "pipelines.extract.article.ExtractPipeline": 100,
    "pipelines.language.pipeline.LanguagePipeline": 200,
    "pipelines.dedupe.pipeline.DedupePipeline": 300,
    "pipelines.record.RecordPipeline": 800,
    "pipelines.storage.pipeline.StoragePipeline": 900,
}

# --- autonews ---------------------------------------------------------------
AUTONEWS_SOURCES = ""  # registry file; empty means the bundled crawler/sources.yaml
AUTONEWS_SOURCE_NAMES: list[str] = []  # subset of the registry; empty means all
AUTONEWS_OUTPUT_DIR = "output"
AUTONEWS_STATE = "output/state.sqlite3"
AUTONEWS_SEAL_EVERY_ITEMS = 500
AUTONEWS_SEAL_EVERY_SECONDS = 300
AUTONEWS_MIN_TEXT_CHARS = 300
AUTONEWS_NON_ENGLISH_POLICY = "flag"  # flag | route | drop
AUTONEWS_MIXED_LANGUAGE_SHARE = 0.10
AUTONEWS_LANGUAGE_CHAR_BUDGET = 1000  # characters of text langdetect sees per article
AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS = 60  # shorter paragraphs are pooled, not judged alone
AUTONEWS_KEEP_DUPLICATES = False
AUTONEWS_SKIP_SEEN = True
AUTONEWS_SINCE = ""  # e.g. "7d": skip feed/sitemap entries dated before that
AUTONEWS_RUN_REPORT = True  # write <output>/runs/<run-id>.json
AUTONEWS_DEMO_PORT = 8765  # autonews crawl --demo serves the demo site here

# --- distributed crawling (autonews crawl --redis URL; see docs/distributed.md) ---
AUTONEWS_REDIS_URL = ""  # set = worker mode: shared queue, dupefilter, dedupe state, lock, report
AUTONEWS_REDIS_PREFIX = "autonews"
AUTONEWS_REDIS_IDLE_SECONDS = 30  # a worker exits when the shared queue stays empty this long
AUTONEWS_REDIS_WORKER_TIMEOUT = 60  # a worker silent this long is dead; its pending claims are freed
AUTONEWS_WORKER_ID = ""  # default: the host name; part of every output file name

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
