"""Scrapy's settings for one crawl, built in this one place from SnapMode's settings and the site config."""

from __future__ import annotations

from typing import Any

from snapmode.crawlers.siteconfig import SiteConfig

_PKG = "snapmode.crawlers"


def scrapy_settings(site: SiteConfig, *, user_agent: str, max_redirects: int = 5, allow_private: bool = False,
                    max_pages: int | None = None, use_redis: bool = False, run_id: str = "run",
                    address_ttl_s: float = 300.0, metrics_port: int = 0, metrics_host: str = "127.0.0.1",
                    pushgateway_url: str = "", push_interval_s: float = 15.0) -> dict[str, Any]:
    """Polite defaults (robots.txt, AutoThrottle, per-domain concurrency, retries) tuned by the site's rate limits;
    the crawl's metrics are served on `metrics_port` and pushed to `pushgateway_url` (neither: no metrics)."""
    rate = site.rate
    settings: dict[str, Any] = {
        "BOT_NAME": "snapmode",
        "USER_AGENT": site.user_agent or user_agent,
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": rate.concurrency_per_domain,
        "DOWNLOAD_DELAY": rate.download_delay_s,
        "DOWNLOAD_TIMEOUT": rate.timeout_s,
        "DOWNLOAD_MAXSIZE": 10 * 1024 * 1024,
        "AUTOTHROTTLE_ENABLED": rate.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(rate.download_delay_s, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": rate.autothrottle_max_delay_s,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": rate.autothrottle_target_concurrency,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": rate.retry_times,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "SNAPMODE_RETRY_FIRST_DELAY_S": rate.retry_first_delay_s,
        "SNAPMODE_RETRY_MAX_DELAY_S": rate.retry_max_delay_s,
        "REDIRECT_MAX_TIMES": max_redirects,
        "DEPTH_LIMIT": site.max_depth,
        "CLOSESPIDER_PAGECOUNT": max_pages or 0,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOGSTATS_INTERVAL": 0,
        "LOG_LEVEL": "WARNING",
        "LOG_INSTALL_ROOT_HANDLER": False,  # the process's own logging setup prints Scrapy's records
        "DEFAULT_DROPITEM_LOG_LEVEL": "DEBUG",  # drops are counted and logged with their reason by the pipelines
        "DOWNLOADER_MIDDLEWARES": {
            f"{_PKG}.middlewares.address.AddressPolicyMiddleware": 50,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            f"{_PKG}.middlewares.retries.PoliteRetryMiddleware": 550,
            f"{_PKG}.middlewares.redirects.BoundedRedirectMiddleware": 600,
        },
        "EXTENSIONS": {f"{_PKG}.metrics.CrawlMetrics": 500},
        "ITEM_PIPELINES": {
            f"{_PKG}.pipelines.validation.RecordValidationPipeline": 100,
            f"{_PKG}.pipelines.dedup.ChangedOnlyPipeline": 200,
            f"{_PKG}.pipelines.output.RecordSinkPipeline": 300,
        },
        "SNAPMODE_SITE": site.name,
        "SNAPMODE_RUN_ID": run_id,
        "SNAPMODE_ALLOW_PRIVATE": allow_private or site.allow_private,
        "SNAPMODE_ADDRESS_TTL_S": address_ttl_s,  # how long a host's public/private verdict is trusted
        "SNAPMODE_METRICS_PORT": metrics_port,
        "SNAPMODE_METRICS_HOST": metrics_host,
        "SNAPMODE_PUSHGATEWAY_URL": pushgateway_url,
        "SNAPMODE_PUSH_INTERVAL_S": push_interval_s,
    }
    if use_redis:
        settings["DUPEFILTER_CLASS"] = f"{_PKG}.dupefilter.RedisDupeFilter"
    return settings
