"""Scrapy settings of the opinion-patrol crawlers: every setting we rely on, with its value here.

Override any of them per run with `scrapy crawl ... -s NAME=value` (the runner passes the
`PATROL_*` ones). Scrapy's own default is noted where we change it.
"""

from __future__ import annotations

from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]

# --- project -------------------------------------------------------------------------------------
BOT_NAME = "opinion_patrol"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

#: Who we are, so a site operator can see and contact us (Scrapy's default: "Scrapy/VERSION (+https://scrapy.org)").
USER_AGENT = "opinion-patrol/0.1 (public-safety monitoring of public posts; obeys robots.txt)"

# --- politeness ----------------------------------------------------------------------------------
#: Obey robots.txt (Scrapy's default: False). Sites that disallow us are not crawled.
ROBOTSTXT_OBEY = True
#: Total parallel requests of one crawl (Scrapy's default: 16).
CONCURRENT_REQUESTS = 8
#: Parallel requests to one domain (Scrapy's default: 8): small local forums are small servers.
CONCURRENT_REQUESTS_PER_DOMAIN = 2
#: Minimum seconds between requests to one domain (Scrapy's default: 0); AutoThrottle only raises it.
DOWNLOAD_DELAY = 0.25
#: Randomise the delay by ±50% so requests do not tick like a metronome (Scrapy's default: 0.5).
DOWNLOAD_DELAY_JITTER = 0.5
#: Adapt the delay to the server's latency (Scrapy's default: False).
AUTOTHROTTLE_ENABLED = True
#: First delay before latency is known, seconds (Scrapy's default: 5.0).
AUTOTHROTTLE_START_DELAY = 1.0
#: Largest delay under high latency, seconds (Scrapy's default: 60.0).
AUTOTHROTTLE_MAX_DELAY = 30.0
#: Average requests in flight per remote server (Scrapy's default: 1.0).
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.5
#: Log every throttle adjustment (Scrapy's default: False).
AUTOTHROTTLE_DEBUG = False
#: Public pages need no session (Scrapy's default: True).
COOKIES_ENABLED = False

# --- limits --------------------------------------------------------------------------------------
#: Seconds before a download is abandoned as `timeout` (Scrapy's default: 180).
DOWNLOAD_TIMEOUT = 30
#: Seconds to resolve a host name (Scrapy's default: 60).
DNS_TIMEOUT = 10
#: Largest response accepted, bytes (Scrapy's default: 1 GiB): forum pages are well under 10 MiB.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
#: Warn above this response size, bytes (Scrapy's default: 32 MiB).
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
#: Redirects followed per request (Scrapy's default: 20).
REDIRECT_MAX_TIMES = 5

# --- retries -------------------------------------------------------------------------------------
#: Retry transient failures (Scrapy's default: True).
RETRY_ENABLED = True
#: Retries per request after the first attempt (Scrapy's default: 2).
RETRY_TIMES = 2
#: Statuses worth retrying (Scrapy's default: [500, 502, 503, 504, 522, 524, 408, 429]).
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
#: Seconds before the first retry; doubles each retry (our setting; 0 disables the wait).
RETRY_BACKOFF_BASE = 0.5
#: Longest wait before a retry, seconds (our setting).
RETRY_BACKOFF_MAX = 30.0
#: Longest `Retry-After` (429/503) worth waiting for within a pass, seconds; longer: retried next pass (our setting).
RETRY_AFTER_MAX = 120.0
DOWNLOADER_MIDDLEWARES = {
    # Drops queued requests once the pass is out of time (PATROL_DEADLINE_AT), before robots.txt is asked.
    "crawlers.deadline.DeadlineMiddleware": 50,
    # Scrapy's offsite filter lets dont_filter requests and their redirects go anywhere; ours checks all.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawlers.middlewares.StrictOffsiteMiddleware": 60,
    # Our retry waits before retrying and honours Retry-After; it takes the built-in one's place (550).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
}

# --- components ----------------------------------------------------------------------------------
ITEM_PIPELINES = {"crawlers.pipelines.LandingBatchPipeline": 300}
EXTENSIONS = {"crawlers.report.CrawlReportExtension": 500}
#: No telnet console on a monitoring box (Scrapy's default: True).
TELNETCONSOLE_ENABLED = False
#: No code-execution HTTP endpoint either (Scrapy 2.19+'s remote control; Scrapy's default: True).
REMOTE_CONTROL_ENABLED = False

# --- logging -------------------------------------------------------------------------------------
#: INFO: one line per event; post text is never logged at this level (Scrapy's default: DEBUG).
LOG_LEVEL = "INFO"
#: key=value lines a log shipper can split
#: (Scrapy's default: "%(asctime)s [%(name)s] %(levelname)s: %(message)s").
LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
#: ISO-8601 timestamps (Scrapy's default: "%Y-%m-%d %H:%M:%S").
LOG_DATEFORMAT = "%Y-%m-%dT%H:%M:%S%z"
#: Seconds between crawl progress lines (Scrapy's default: 60.0).
LOGSTATS_INTERVAL = 60.0

# --- output encoding -----------------------------------------------------------------------------
#: Feed exports in UTF-8, not \\u escapes (Scrapy's default: None, i.e. escaped).
FEED_EXPORT_ENCODING = "utf-8"

# --- opinion-patrol ------------------------------------------------------------------------------
#: Root of landing/, state/ and reports/ (the runner passes the pipeline's data_dir).
PATROL_DATA_DIR = str(_REPO_ROOT / "data")
#: The sources file the spiders read their source from (the runner passes the pipeline's file).
PATROL_SOURCES_FILE = str(_REPO_ROOT / "patrol" / "defaults" / "sources.yaml")
#: Unix time after which the pass schedules nothing new and ends cleanly (0: no limit; the runner sets it).
PATROL_DEADLINE_AT = 0
#: Posts per landing batch before it is renamed and a new one started.
PATROL_BATCH_MAX_ITEMS = 5000
#: Weibo: most comment pages fetched per weibo per pass (comments are newest first).
PATROL_WEIBO_MAX_COMMENT_PAGES = 5
#: Tieba: most in-floor reply (楼中楼) pages fetched per floor per pass.
PATROL_TIEBA_MAX_REPLY_PAGES = 3
#: Traps: most pages one chain of "next page" links may run to in a pass.
PATROL_MAX_PAGINATION = 500
#: Traps: calendar pages dated further back than this many days are not followed.
PATROL_CALENDAR_HORIZON_DAYS = 3650
#: Traps: most distinct dates followed per URL shape in a pass (a "next day" link followed day after day).
PATROL_CALENDAR_MAX_DATES = 60
#: Articles: most article links followed per start page per pass (newest links come first on list pages).
PATROL_ARTICLE_MAX_LINKS = 200
