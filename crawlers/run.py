"""Run one crawl: wire the sink, the dedup stores and Scrapy's settings, start the spider, summarise its stats."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from snapmode.config import Settings
from snapmode.crawlers import problems
from snapmode.crawlers.absence import SitemapAbsence
from snapmode.crawlers.hashes import ContentHashes
from snapmode.crawlers.settings import scrapy_settings
from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.crawlers.sinks import RecordSink
from snapmode.crawlers.spiders.product import ProductSpider
from snapmode.crawlers.wiring import CrawlWiring


@dataclass
class CrawlSummary:
    """What one crawl did, read from its Scrapy stats."""

    site: str
    pages: int = 0
    products_found: int = 0
    products_sent: int = 0
    products_unchanged: int = 0
    products_deleted: int = 0  # tombstones sent: product pages that answered 404 or 410, or left the sitemap
    images_sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    robots_forbidden: int = 0
    offsite_filtered: int = 0
    retries: int = 0
    finish_reason: str = ""
    seconds: float = 0.0

    @classmethod
    def from_stats(cls, site: str, stats: dict[str, Any]) -> CrawlSummary:
        def get(key: str) -> int:
            return int(stats.get(key, 0))

        return cls(site=site, pages=get("snapmode/pages"), products_found=get("snapmode/products/found"),
                   products_sent=get("snapmode/products/sent"),
                   products_unchanged=get("snapmode/products/unchanged"), images_sent=get("snapmode/images/sent"),
                   products_deleted=get("snapmode/products/deleted"),
                   errors=problems.counts(stats, problems.ERRORS), warnings=problems.counts(stats, problems.WARNINGS),
                   robots_forbidden=get("robotstxt/forbidden"), offsite_filtered=get("offsite/filtered"),
                   retries=get("retry/count"), finish_reason=str(stats.get("finish_reason", "")),
                   seconds=round(float(stats.get("elapsed_time_seconds", 0.0)), 3))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CrawlJob:
    """Everything one crawl needs; `scrapy` is the settings dict handed to the crawler."""

    site: SiteConfig
    wiring: CrawlWiring
    scrapy: dict[str, Any]


def load_target(target: str) -> SiteConfig:
    """A YAML site config path, or a shop's URL (crawled with default settings)."""
    if target.startswith(("http://", "https://")):
        return SiteConfig.for_url(target)
    path = Path(target)
    if not path.is_file():
        raise FileNotFoundError(f"{target} is neither a site config file nor an http(s) URL")
    return SiteConfig.load(path)


def open_redis(url: str | None, password: str | None = None) -> Any:
    """A Redis client for `url`, or None to keep the dedup state in memory for this run only."""
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, **({"password": password} if password else {}))


def build_job(site: SiteConfig, settings: Settings, sink: RecordSink, *, redis: Any = None,
              max_pages: int | None = None, allow_private: bool = False, run_id: str | None = None) -> CrawlJob:
    wiring = CrawlWiring(sink=sink, hashes=ContentHashes(site.name, redis), redis=redis,
                         absence=SitemapAbsence(site.name, redis, crawls=settings.sitemap_absent_crawls))
    return CrawlJob(site=site, wiring=wiring, scrapy=scrapy_settings(
        site, user_agent=settings.crawl_user_agent, max_redirects=settings.crawl_max_redirects,
        allow_private=allow_private or settings.allow_private_urls, max_pages=max_pages, use_redis=redis is not None,
        run_id=run_id or uuid.uuid4().hex[:12], address_ttl_s=settings.crawl_address_ttl_s,
        metrics_port=settings.crawler_metrics_port, metrics_host=settings.crawler_metrics_host,
        pushgateway_url=settings.pushgateway_url or "", push_interval_s=settings.pushgateway_interval_s))


def run_crawl(job: CrawlJob, on_tick: Callable[[dict[str, Any]], None] | None = None,
              tick_s: float = 0.2) -> CrawlSummary:
    """Crawl in this process with Scrapy's `CrawlerProcess` (it runs the Twisted reactor, so once per process)."""
    from scrapy.crawler import CrawlerProcess

    level = logging.getLevelName(job.scrapy["LOG_LEVEL"])
    for handler in logging.root.handlers:  # Scrapy sets its loggers to DEBUG: its records below LOG_LEVEL stay out
        handler.addFilter(lambda r: r.levelno >= level or not r.name.startswith(("scrapy", "twisted")))
    process = CrawlerProcess(job.scrapy)
    crawler = process.create_crawler(ProductSpider)
    process.crawl(crawler, site=job.site, wiring=job.wiring)
    if on_tick is not None:
        from twisted.internet.task import LoopingCall

        ticker = LoopingCall(lambda: on_tick(crawler.stats.get_stats()))
        ticker.start(tick_s, now=False)
    process.start()
    stats = crawler.stats.get_stats()
    if on_tick is not None:
        on_tick(stats)
    return CrawlSummary.from_stats(job.site.name, stats)


def crawl_deferred(runner: Any, job: CrawlJob) -> Any:
    """Crawl with a `CrawlerRunner` on a reactor that is already running; a Deferred firing with the summary."""
    crawler = runner.create_crawler(ProductSpider)
    deferred = runner.crawl(crawler, site=job.site, wiring=job.wiring)
    return deferred.addCallback(lambda _: CrawlSummary.from_stats(job.site.name, crawler.stats.get_stats()))
