"""Scrapy settings for autonews.

Every project-specific setting is prefixed ``AUTONEWS_`` and can be overridden
with ``-s KEY=VALUE`` on both ``autonews`` and ``scrapy crawl``.
"""

from __future__ import annotations

from scrapy.settings import default_settings

# Defaults are owned by the code that uses them (and falls back to them when a crawler is built
# without this module, as in unit tests); every setting is declared here, once.
from crawler.discovery.limits import MAX_ARTICLES_PER_SOURCE, MAX_RECHECKS_PER_SOURCE, NOT_ARTICLE_DAYS, RECHECK_MIN_HOURS
from pipelines.dedupe.neardup import NEAR_THRESHOLD
from pipelines.dedupe.pipeline import MAX_VERSIONS_PER_DAY
from pipelines.extract.limits import MIN_TEXT_CHARS
from pipelines.language.detect import CHAR_BUDGET, MIN_PARAGRAPH_CHARS, MIXED_SHARE
from pipelines.state.redis_keys import DEFAULT_PREFIX, DEFAULT_TIMEOUT
from pipelines.storage.sealed import COMMIT_EVERY, SEAL_EVERY_ITEMS, SEAL_EVERY_SECONDS
from crawler.cli.exitcodes import EXIT_HEALTH
from crawler.backfill.files import CC_NEWS_URL
from crawler.backfill.http import BACKOFF as ARCHIVE_BACKOFF, RETRIES as ARCHIVE_RETRIES, TIMEOUT as ARCHIVE_TIMEOUT
from crawler.backfill.progress import COMMIT_SECONDS
from pipelines.storage.warcarchive import MAX_BYTES as WARC_MAX_BYTES
from crawler.spiders.backfill import CONCURRENT_FILES, MAX_PENDING, START_JITTER
from crawler.health import thresholds as health
from pipelines.pool import PAGE_TIMEOUT, WORKER_NICE

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
# Items and requests of one response processed in parallel. Scrapy starts that many asyncio tasks for
# every response (default 100: ~100,000 tasks per 1,000 pages, ~1 ms of reactor CPU per page), and an
# article response yields one item; a feed's requests are only scheduled, which is synchronous.
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's RemoteControl extension runs Python code sent to a local HTTP server (token in a file in
# the user's profile) for the whole crawl: not for an unattended crawler. Off, and out of Scrapy's default
# extensions (EXTENSIONS_BASE below), so that its web framework, aiohttp, is not even imported.
REMOTE_CONTROL_ENABLED = False

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
HTTPCACHE_STORAGE = "crawler.cache.storage.JsonFilesystemCacheStorage"  # JSON metadata, no pickle, no cookies, 0600

# --- components ------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Only http(s), and no IP-literal URL of a non-public address (host names: TWISTED_DNS_RESOLVER).
    "crawler.security.guard.AddressGuardMiddleware": 10,
    # Skips article URLs already stored in an earlier run, before download.
    "crawler.middlewares.seen.SeenUrlMiddleware": 50,
    # Child sitemaps of a source whose article cap is full are not fetched.
    "crawler.middlewares.source_full.SourceFullMiddleware": 55,
    # A truncated gzip body is an error, not half an article.
    "crawler.middlewares.truncated_gzip.TruncatedGzipMiddleware": 595,
    # Meta refresh read from the first 32 KiB only (Scrapy's decodes and keeps the whole page).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.meta_refresh.HeadMetaRefreshMiddleware": 580,
    # A redirect cycle (a -> b -> a) is counted instead of vanishing in the dupefilter.
    "crawler.middlewares.redirect_loop.RedirectLoopMiddleware": 610,
    # AUTONEWS_WARC_ARCHIVE: final article responses, bodies decoded (below compression and redirects).
    "crawler.middlewares.warc_archive.WarcArchiveMiddleware": 560,
}
SPIDER_MIDDLEWARES = {
    # Stored articles whose feed/sitemap date is newer are fetched again (updated articles), before
    # the duplicate filter sees their URL. Below HttpErrorMiddleware (50), so that a re-fetch answered
    # 404 reaches it and is recorded as checked; it handles requests only after that one, as at 100.
    "crawler.middlewares.recheck.RecheckMiddleware": 45,
}
# Scrapy's own list minus RemoteControl: a None for it in EXTENSIONS would still import it (Scrapy loads
# every key given there to normalise it).
EXTENSIONS_BASE = {path: order for path, order in default_settings.EXTENSIONS_BASE.items()
                   if path != "scrapy.extensions.remote_control.RemoteControl"}
EXTENSIONS = {
    "crawler.extensions.runstatus.RunStatus": 500,
    "crawler.extensions.report.RunReport": 510,
    "crawler.extensions.progress.Progress": 520,  # idle unless AUTONEWS_PROGRESS (--progress or a terminal)
}
# The data path: page -> article -> deduplicated article -> sealed record (pipelines/items.py).
ITEM_PIPELINES = {
    "pipelines.extract.pipeline.ExtractPipeline": 100,
    "pipelines.language.pipeline.LanguagePipeline": 200,
    "pipelines.dedupe.pipeline.DedupePipeline": 300,
    "pipelines.storage.pipeline.StoragePipeline": 900,  # autonews scrape puts RecordPipeline here instead
}
# Worker mode (autonews crawl --redis URL): the add-on does nothing unless AUTONEWS_REDIS_URL is set.
ADDONS = {"crawler.distributed.addon.WorkerAddon": 0}

# --- autonews ---------------------------------------------------------------
AUTONEWS_SOURCES = ""  # registry file; empty means the bundled crawler/sources/sources.yaml
AUTONEWS_SOURCE_NAMES: list[str] = []  # subset of the registry; empty means all
AUTONEWS_SUBSTITUTIONS: dict[str, str] = {}  # placeholder -> text replaced in the registry before parsing ({{BASE}})
AUTONEWS_URLS: list[str] = []  # targets of the one-off `scrape` spider (also its `urls` argument)
AUTONEWS_OUTPUT_DIR = "output"
# Dedupe state: a SQLite file path or a redis:// URI; empty means <AUTONEWS_OUTPUT_DIR>/state.sqlite3.
AUTONEWS_STATE = ""
AUTONEWS_SEAL_EVERY_ITEMS = SEAL_EVERY_ITEMS
AUTONEWS_SEAL_EVERY_SECONDS = SEAL_EVERY_SECONDS
AUTONEWS_COMMIT_EVERY = COMMIT_EVERY  # articles between state commits (each behind fsynced lines)
AUTONEWS_POOL_PROCESSES: int | None = None  # extraction/language processes; None = one per core, 0 = inline
# --- bounded work per page (issue 21) ---
# seconds one page may take in the pool before it is abandoned (worker replaced, counted
# autonews/errors/page_timeout); 0 = no limit; no limit when extracting inline (AUTONEWS_POOL_PROCESSES=0)
AUTONEWS_PAGE_TIMEOUT = PAGE_TIMEOUT
# niceness the pool workers add to the crawl process's: fetching, WARC reading and writing go first; 0 = none
AUTONEWS_POOL_NICE = WORKER_NICE
# --- end bounded work per page ---
AUTONEWS_MIN_TEXT_CHARS = MIN_TEXT_CHARS
AUTONEWS_NON_ENGLISH_POLICY = "flag"  # flag | route | drop
AUTONEWS_MIXED_LANGUAGE_SHARE = MIXED_SHARE
AUTONEWS_LANGUAGE_CHAR_BUDGET = CHAR_BUDGET  # characters of text langdetect sees per article
AUTONEWS_LANGUAGE_MIN_PARAGRAPH_CHARS = MIN_PARAGRAPH_CHARS  # shorter paragraphs are pooled, not judged alone
AUTONEWS_KEEP_DUPLICATES = False
AUTONEWS_NEAR_THRESHOLD = NEAR_THRESHOLD  # MinHash Jaccard at or above which two texts are one story
AUTONEWS_SKIP_SEEN = True
# Re-fetch (conditionally) every stored article first stored less than this many days ago that a
# run's feeds or sitemaps list, to catch corrections without a newer feed/sitemap date; 0 = off.
AUTONEWS_RECHECK_DAYS = 0
# --- re-fetch budget (README "Updated articles"; crawler/discovery/limits.py); 0 = no limit / off ---
AUTONEWS_MAX_RECHECKS_PER_SOURCE = MAX_RECHECKS_PER_SOURCE  # re-fetches of stored articles per source and run
AUTONEWS_RECHECK_MIN_HOURS = RECHECK_MIN_HOURS  # no re-fetch of an article sooner than this after its last fetch
AUTONEWS_MAX_VERSIONS_PER_DAY = MAX_VERSIONS_PER_DAY  # new versions of one article written per UTC day
AUTONEWS_NOT_ARTICLE_DAYS = NOT_ARTICLE_DAYS  # a page found not to be an article is not fetched again for this long
# --- end of the re-fetch budget block ---
AUTONEWS_SINCE = ""  # e.g. "7d": skip feed/sitemap entries dated before that
AUTONEWS_RUN_REPORT = True  # write <output>/runs/<run-id>.json
AUTONEWS_DEMO_PORT = 8765  # autonews crawl --demo serves the demo site here

# --- run health (README "Run health"): each source against the median of its own last runs ---
AUTONEWS_HEALTH_MIN_RUNS = health.MIN_RUNS  # earlier runs before a source is judged (until then "new")
AUTONEWS_HEALTH_WINDOW = health.WINDOW  # trailing runs whose median is the source's usual
AUTONEWS_HEALTH_MIN_SAMPLE = health.MIN_SAMPLE  # new pages / records a run needs for its shares to count
AUTONEWS_HEALTH_SHARE_CHANGE = health.SHARE_CHANGE  # yield, field coverage, discovery down (non-English up) this much
AUTONEWS_HEALTH_TEXT_RATIO = health.TEXT_RATIO  # median text length below this fraction of usual
AUTONEWS_HEALTH_ENTRIES_RATIO = health.ENTRIES_RATIO  # entries found below this fraction of usual
AUTONEWS_HEALTH_STALE_RUNS = health.STALE_RUNS  # runs without a new entry: degraded (twice as many: broken)
AUTONEWS_HEALTH_EXIT_STATUS = EXIT_HEALTH  # exit status when a source is degraded or broken; 0 = off

# --- progress (autonews crawl/scrape --progress, or stderr a terminal) ---
AUTONEWS_PROGRESS = False  # print a progress line to stderr every AUTONEWS_PROGRESS_INTERVAL seconds
AUTONEWS_PROGRESS_INTERVAL = 5.0
AUTONEWS_PROGRESS_TOTAL = 0  # targets of a one-off scrape (done/total and ETA); 0 = unknown

# --- distributed crawling (autonews crawl --redis URL; README "Distributed crawling") ---
AUTONEWS_REDIS_URL = ""  # set = worker mode (crawler.distributed.addon): shared queue, state, lease, report
AUTONEWS_REDIS_PREFIX = DEFAULT_PREFIX  # every key: pipelines/state/redis_keys.py
AUTONEWS_REDIS_IDLE_SECONDS = 30  # a worker exits when the shared queue stays empty this long
AUTONEWS_REDIS_WORKER_TIMEOUT = DEFAULT_TIMEOUT  # a worker silent this long is dead; its pending claims are freed
AUTONEWS_WORKER_ID = ""  # default: the host name; part of every output file name
AUTONEWS_REDIS_SEED_ONLY = False  # `autonews seed`: enqueue the registry for the workers, crawl nothing
# Set by the worker add-on, not by hand: this process's name among the workers (<worker id>-<pid>)
# and the token of its lease (crawler/distributed/lease.py).
AUTONEWS_REDIS_INSTANCE = ""
AUTONEWS_REDIS_LOCK_TOKEN = ""

# --- security (README "Security") ---------------------------------------------
# Every DNS answer is checked at connection time: no fetch of a non-public address unless allowed.
TWISTED_DNS_RESOLVER = "crawler.security.resolver.SafeResolver"
# http(s) only: file://, data:, ftp:// and s3:// links are never fetched (file:// would also ignore
# DOWNLOAD_MAXSIZE). The http(s) handler is named so that the resolver above is the one used; it is Scrapy's HTTP/1.1
# handler without a shutdown race that logged AlreadyCalledError (crawler/downloader/handler.py).
DOWNLOAD_HANDLERS = {
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
    "http": "crawler.downloader.handler.HTTPDownloadHandler",
    "https": "crawler.downloader.handler.HTTPDownloadHandler",
}
# Host names, IP addresses or CIDR networks that may be fetched although they are not public
# (loopback, private, link-local...): comma-separated; empty = public addresses only.
AUTONEWS_PRIVATE_HOSTS = ""
# New article requests one source may queue in one run (0 = no limit); the excess is counted, not queued.
AUTONEWS_MAX_ARTICLES_PER_SOURCE = MAX_ARTICLES_PER_SOURCE

# --- backfill and WARC archive (autonews backfill; README "Backfill") ---------------
AUTONEWS_CC_NEWS_URL = CC_NEWS_URL  # root of Common Crawl's crawl-data/CC-NEWS/ tree
AUTONEWS_BACKFILL_CONCURRENT_FILES = CONCURRENT_FILES  # WARC files read at once (an archive host is shared)
AUTONEWS_BACKFILL_MAX_PENDING = MAX_PENDING  # kept records in the pipelines at once (memory stays flat)
AUTONEWS_BACKFILL_JITTER = START_JITTER  # up to this many seconds (random) before the run opens its first remote file
AUTONEWS_BACKFILL_COMMIT_SECONDS = COMMIT_SECONDS  # progress saved at least this often while files are read
AUTONEWS_BACKFILL_RETRIES = ARCHIVE_RETRIES  # per request: 503/SlowDown, 403, 429, 5xx, timeouts, cut connections
AUTONEWS_BACKFILL_BACKOFF = ARCHIVE_BACKOFF  # seconds before the first retry, doubled each time, jittered
AUTONEWS_BACKFILL_TIMEOUT = ARCHIVE_TIMEOUT  # seconds a WARC connection may stay silent
AUTONEWS_WARC_ARCHIVE = False  # crawl/scrape: also write every fetched article page to <output>/warc/ (WARC/1.1)
AUTONEWS_WARC_ARCHIVE_MAX_BYTES = WARC_MAX_BYTES  # an archive file is sealed and a new one begun past this size

LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformatter.OneLineLogFormatter"  # a dropped item is one line, not its repr
FEED_EXPORT_ENCODING = "utf-8"
