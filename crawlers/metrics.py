"""Prometheus metrics of one crawl: responses by status class, records sent, refusals by reason, retries.

A crawl is a one-shot job. While it runs it serves its metrics on `SNAPMODE_CRAWLER_METRICS_PORT` (loopback unless
`SNAPMODE_CRAWLER_METRICS_HOST` says otherwise); with `SNAPMODE_PUSHGATEWAY_URL` set it also pushes them to that
Prometheus Pushgateway every `SNAPMODE_PUSHGATEWAY_INTERVAL_S` and once at its end (job `snapmode-crawl`, grouped by
site), where the figures of each site's last crawl stay for Prometheus to scrape after the process is gone."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, push_to_gateway, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from snapmode.crawlers import problems
from snapmode.logs import get_logger
from snapmode.records import ProductRecord, Tombstone

log = get_logger("snapmode.crawlers")

JOB = "snapmode-crawl"  # the Pushgateway job; the grouping key is the site
PUSH_TIMEOUT_S = 10.0
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
# Counted in the crawl's stats with no signal (robots.txt, offsite links and redirects, retries): read at collection
STATS_REFUSALS = {"robots_txt": "robotstxt/forbidden", "offsite": "offsite/filtered"}
STATS_RETRIES = {"retried": "retry/count", "given_up": "retry/max_reached"}
PUSH_ERRORS = (OSError, ValueError, http.client.HTTPException)  # unreachable, refused (>= 400), a bad URL


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def refusal_reason(reason: str) -> str:
    """A problem's reason as a label value: HTTP errors by status class (`http_404` -> `http_4xx`), so that no shop
    makes a series per status code."""
    code = reason.removeprefix("http_")
    return f"http_{status_class(int(code))}" if code != reason and code.isdigit() else reason


class CrawlFigures:
    """What one crawl did, as a Prometheus collector: counted from Scrapy's signals on the reactor thread, collected
    by scrapes and pushes on other threads (a lock keeps each collection whole)."""

    def __init__(self, site: str, stats: StatsCollector) -> None:
        self.site = site
        self.stats = stats
        self._lock = threading.Lock()
        # Every known value from the start, at 0: a scrape (and a dashboard) sees them before they happen
        self._responses: Counter[str] = Counter(dict.fromkeys(STATUS_CLASSES, 0))
        self._records: Counter[str] = Counter({"product": 0, "tombstone": 0})
        self._refusals: Counter[str] = Counter({"duplicate": 0, "unchanged": 0})
        self._images = 0
        self.started: float | None = None  # time.monotonic() of the crawl's start and end
        self.ended: float | None = None

    def response(self, status: int) -> None:
        with self._lock:
            self._responses[status_class(status)] += 1

    def record(self, record: Any) -> None:
        with self._lock:
            if isinstance(record, ProductRecord):
                self._records["product"] += 1
                self._images += len(record.image_urls)
            elif isinstance(record, Tombstone):
                self._records["tombstone"] += 1

    def refusal(self, reason: str) -> None:
        with self._lock:
            self._refusals[reason] += 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            responses, records, refusals = dict(self._responses), dict(self._records), dict(self._refusals)
            images = self._images
        refusals.update({reason: self._stat(key) for reason, key in STATS_REFUSALS.items()})
        retries = {outcome: self._stat(key) for outcome, key in STATS_RETRIES.items()}

        yield self._by_label(CounterMetricFamily(
            "snapmode_crawl_responses", "HTTP responses the shop sent (pages, sitemaps, robots.txt, redirects, answers "
            "retried), by status class", labels=["site", "status_class"]), responses)
        yield self._by_label(CounterMetricFamily(
            "snapmode_crawl_records", "Records the sink acknowledged (Kafka, the embedded index or a file): new or "
            "changed products, and tombstones", labels=["site", "kind"]), records)
        pictures = CounterMetricFamily("snapmode_crawl_images", "Image URLs of the product records sent",
                                       labels=["site"])
        pictures.add_metric([self.site], images)
        yield pictures
        yield self._by_label(CounterMetricFamily(
            "snapmode_crawl_refusals", "Requests, pages and records the crawl refused or lost, each once, by reason",
            labels=["site", "reason"]), refusals)
        yield self._by_label(CounterMetricFamily(
            "snapmode_crawl_retries", "Requests retried, and those whose retries ran out (`given_up`)",
            labels=["site", "outcome"]), retries)
        seconds = GaugeMetricFamily("snapmode_crawl_seconds", "How long the crawl has run; once ended, how long it "
                                    "took", labels=["site"])
        seconds.add_metric([self.site], self.seconds)
        yield seconds

    def _by_label(self, family: CounterMetricFamily, counts: dict[str, int]) -> CounterMetricFamily:
        """`family` with one sample of this site per entry of `counts`, in label order."""
        for label, count in sorted(counts.items()):
            family.add_metric([self.site, label], count)
        return family

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started

    def _stat(self, key: str) -> int:
        return int(self.stats.get_value(key, 0))  # one dict lookup: safe beside the reactor thread's writes


class CrawlMetrics:
    """Scrapy extension: counts the crawl from its signals, serves the figures while it runs and pushes them.

    Off (`NotConfigured`) without a port and a Pushgateway. A port in use or a Pushgateway away is logged, and the
    crawl goes on without them."""

    def __init__(self, crawler: Crawler, *, port: int = 0, host: str = "127.0.0.1", pushgateway_url: str = "",
                 push_interval_s: float = 15.0) -> None:
        self.site = str(crawler.settings["SNAPMODE_SITE"])
        self.figures = CrawlFigures(self.site, crawler.stats)
        self.registry = CollectorRegistry()
        self.registry.register(self.figures)
        self.port, self.host = port, host
        self.pushgateway_url, self.push_interval_s = pushgateway_url, push_interval_s
        self._server: Any = None
        self._stop = threading.Event()
        self._pusher: threading.Thread | None = None
        self._push_failing = False
        for handler, signal in ((self.spider_opened, signals.spider_opened),
                                (self.response_downloaded, signals.response_downloaded),
                                (self.item_scraped, signals.item_scraped),
                                (self.item_dropped, signals.item_dropped),
                                (self.request_dropped, signals.request_dropped),
                                (self.spider_error, signals.spider_error),
                                (self.refused, problems.REFUSED),
                                (self.spider_closed, signals.spider_closed)):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlMetrics:
        settings = crawler.settings
        port, url = settings.getint("SNAPMODE_METRICS_PORT"), settings.get("SNAPMODE_PUSHGATEWAY_URL") or ""
        if not port and not url:
            raise NotConfigured  # off, as by default: without a message, Scrapy logs nothing
        return cls(crawler, port=port, host=settings.get("SNAPMODE_METRICS_HOST") or "127.0.0.1",
                   pushgateway_url=url, push_interval_s=settings.getfloat("SNAPMODE_PUSH_INTERVAL_S", 15.0))

    def spider_opened(self) -> None:
        self.figures.started = time.monotonic()
        if self.port:
            self._serve()
        if self.pushgateway_url and self.push_interval_s > 0:
            self._pusher = threading.Thread(target=self._push_while_running, name="crawl-metrics-push", daemon=True)
            self._pusher.start()

    def response_downloaded(self, response: Response) -> None:
        self.figures.response(response.status)

    def item_scraped(self, item: Any) -> None:
        self.figures.record(item)

    def item_dropped(self, exception: BaseException) -> None:
        self.figures.refusal(getattr(exception, "reason", "dropped"))

    def request_dropped(self) -> None:
        """The scheduler refused a request: this run has seen it already (the duplicate filter, in Redis or not)."""
        self.figures.refusal("duplicate")

    def spider_error(self) -> None:
        self.figures.refusal("spider_error")

    def refused(self, reason: str) -> None:
        self.figures.refusal(refusal_reason(reason))

    async def spider_closed(self) -> None:
        """The final push and the server's stop, off the reactor thread; the crawl ends when they are done."""
        self.figures.ended = time.monotonic()
        self._stop.set()
        await maybe_deferred_to_future(deferToThread(self._finish))

    def push(self, *, final: bool = False) -> bool:
        """Replace this site's group on the Pushgateway with the current figures; False when that failed."""
        try:
            push_to_gateway(self.pushgateway_url, job=JOB, registry=self.registry, grouping_key={"site": self.site},
                            timeout=PUSH_TIMEOUT_S)
        except PUSH_ERRORS as exc:
            if final or not self._push_failing:  # one line per outage while running, and the last push
                log.warning("crawl.metrics_push_failed", url=self.pushgateway_url, final=final, error=str(exc))
            self._push_failing = True
            return False
        if final or self._push_failing:
            log.info("crawl.metrics_pushed", url=self.pushgateway_url, site=self.site, final=final)
        self._push_failing = False
        return True

    def _serve(self) -> None:
        try:
            self._server, _ = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:  # the port is taken (another crawl?) or the address is not this host's
            log.warning("crawl.metrics_not_served", host=self.host, port=self.port, error=str(exc))
            return
        log.info("crawl.metrics_serving", host=self.host, port=self.port, site=self.site)

    def _push_while_running(self) -> None:
        while not self._stop.wait(self.push_interval_s):
            self.push()

    def _finish(self) -> None:
        if self._pusher is not None:
            self._pusher.join()
        if self.pushgateway_url:
            self.push(final=True)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
