"""The live objects one crawl shares between its spider, duplicate filter and pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy.crawler import Crawler

from snapmode.crawlers.absence import SitemapAbsence
from snapmode.crawlers.hashes import ContentHashes
from snapmode.crawlers.sinks import RecordSink


@dataclass
class CrawlWiring:
    """Handed to the spider, not put in Scrapy's settings, which are deep-copied and must stay plain values."""

    sink: RecordSink
    hashes: ContentHashes
    redis: Any = None  # a redis.Redis client, or None to keep request fingerprints in memory
    absence: SitemapAbsence | None = None  # pages that left the sitemap; None: not tracked

    @staticmethod
    def of(crawler: Crawler) -> CrawlWiring:
        return crawler.spider.wiring  # type: ignore[union-attr]
