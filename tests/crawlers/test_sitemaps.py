"""Sitemaps read by the product spider: a gzipped one is inflated, a gzip bomb only up to the download size limit."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

from scrapy.http import Response
from scrapy.utils.test import get_crawler

from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.crawlers.spiders.product import ProductSpider

LIMIT = 1 << 20
SITEMAP = (b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           b"<url><loc>https://shop.example/p/1</loc></url></urlset>")


def spider() -> ProductSpider:
    crawler = get_crawler(ProductSpider, settings_dict={"DOWNLOAD_MAXSIZE": LIMIT})
    site = SiteConfig.for_url("https://shop.example/")
    crawler.spider = crawler._create_spider(site=site, wiring=None)
    return crawler.spider  # type: ignore[return-value]


def test_a_gzipped_sitemap_is_read() -> None:
    reader = spider()
    response = Response("https://shop.example/sitemap.xml.gz", body=gzip.compress(SITEMAP))
    assert [r.url for r in reader.parse_sitemap(response)] == ["https://shop.example/p/1"]


def test_a_sitemap_bomb_stops_at_the_size_limit() -> None:
    packer, block = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(64)) + packer.flush()  # 64 MiB inflated
    reader = spider()
    tracemalloc.start()
    started = time.perf_counter()
    requests = list(reader.parse_sitemap(Response("https://shop.example/sitemap.xml.gz", body=bomb)))
    seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert requests == [] and reader.crawler.stats.get_value("snapmode/errors/too_large") == 1
    assert seconds < 2 and peak < 8 * LIMIT
