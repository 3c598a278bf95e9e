"""Remember the request fingerprints of a crawl in Redis: memory stays flat and a crawl can be resumed or shared."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import NotConfigured

from snapmode.crawlers.wiring import CrawlWiring


class RedisDupeFilter(BaseDupeFilter):
    """Seen fingerprints in the Redis set `snapmode:crawl:<site>:<run>:seen`, kept for `ttl_s` after the last write.

    Each run has its own set, so the next crawl revisits every page and sees changed prices; crawler processes
    started with the same run id share one set and never fetch a page twice.
    """

    def __init__(self, redis, key: str, *, fingerprinter, ttl_s: int = 7 * 24 * 3600) -> None:  # type: ignore[no-untyped-def]
        self.redis = redis
        self.key = key
        self.fingerprinter = fingerprinter
        self.ttl_s = ttl_s

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisDupeFilter:
        redis = CrawlWiring.of(crawler).redis
        if redis is None:
            raise NotConfigured("this crawl has no Redis client")
        key = f"snapmode:crawl:{crawler.settings['SNAPMODE_SITE']}:{crawler.settings['SNAPMODE_RUN_ID']}:seen"
        return cls(redis, key, fingerprinter=crawler.request_fingerprinter)

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request).hex()
        added = self.redis.sadd(self.key, fingerprint)
        self.redis.expire(self.key, self.ttl_s)
        return added == 0

    def log(self, request: Request, spider: Spider) -> None:
        """Filtered duplicates are counted, not logged: a shop links its pages from everywhere."""
        spider.crawler.stats.inc_value("dupefilter/filtered")
