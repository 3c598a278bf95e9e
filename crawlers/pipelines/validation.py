"""Turn the spider's product fields into a `ProductRecord`, or drop them with a counted, logged reason."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from snapmode.crawlers import problems
from snapmode.records import InvalidRecord, ProductRecord, Tombstone, Versioned


class RecordValidationPipeline:
    """Nothing reaches a sink without passing the schema."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordValidationPipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Versioned:
        if isinstance(item, Tombstone):  # built by the spider from a product key it sent before
            return item
        fields = dict(item)
        url = str(fields.get("url", ""))
        if not fields.get("image_urls"):
            problems.report(self.stats, "no_image", url, f"product {fields.get('product_id')!r} has no image")
            raise problems.Dropped("no_image")
        try:
            record = ProductRecord.from_dict(fields)
        except InvalidRecord as exc:
            problems.report(self.stats, "invalid_record", url, str(exc))
            raise problems.Dropped("invalid_record", str(exc)) from exc
        self.stats.inc_value("snapmode/products/valid")
        return record
