"""Send each record to the configured sink, wait for its acknowledgement, and then remember its content hash."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from snapmode.crawlers import problems
from snapmode.crawlers.hashes import ContentHashes
from snapmode.crawlers.sinks import RecordSink
from snapmode.crawlers.wiring import CrawlWiring
from snapmode.records import ProductRecord, Tombstone, Versioned


class RecordSinkPipeline:
    """Items are processed concurrently, so waiting for each acknowledgement does not serialise the sends."""

    def __init__(self, sink: RecordSink, hashes: ContentHashes, stats: StatsCollector) -> None:
        self.sink = sink
        self.hashes = hashes
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordSinkPipeline:
        wiring = CrawlWiring.of(crawler)
        return cls(wiring.sink, wiring.hashes, crawler.stats)

    async def process_item(self, record: Versioned) -> Versioned:
        from twisted.internet import reactor

        done: Deferred[None] = Deferred()
        self.sink.send(record, on_sent=lambda: reactor.callFromThread(done.callback, None),  # type: ignore[attr-defined]
                       on_failed=lambda exc: reactor.callFromThread(done.errback, exc))  # type: ignore[attr-defined]
        try:
            await maybe_deferred_to_future(done)
        except Exception as exc:  # noqa: BLE001 - any sink failure: count it, keep crawling
            if isinstance(record, ProductRecord):
                self.hashes.release(record)
            problems.report(self.stats, "send_failed", record.url or "", f"{record.key}: {exc!r}")
            raise problems.Dropped("send_failed", repr(exc)) from exc
        if isinstance(record, Tombstone):
            self.hashes.forget(record)
            self.stats.inc_value("snapmode/products/deleted")
            return record
        self.hashes.remember(record)
        self.stats.inc_value("snapmode/products/sent")
        self.stats.inc_value("snapmode/images/sent", len(record.image_urls))
        return record

    def close_spider(self) -> None:
        self.sink.close()
