"""Drop a product whose content is the same as when it was last sent (or sent already in this crawl); tombstones
pass."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from snapmode.crawlers.hashes import ContentHashes
from snapmode.crawlers.problems import Dropped
from snapmode.crawlers.wiring import CrawlWiring
from snapmode.records import Tombstone, Versioned


class ChangedOnlyPipeline:
    def __init__(self, hashes: ContentHashes, stats: StatsCollector) -> None:
        self.hashes = hashes
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChangedOnlyPipeline:
        return cls(CrawlWiring.of(crawler).hashes, crawler.stats)

    def process_item(self, record: Versioned) -> Versioned:
        if isinstance(record, Tombstone):  # the spider yields one only for a product it sent
            return record
        if not self.hashes.claim(record):
            self.stats.inc_value("snapmode/products/unchanged")
            raise Dropped("unchanged", record.key)
        return record
