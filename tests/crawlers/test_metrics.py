"""The crawl's Prometheus metrics: served on their port while the crawl runs, counting exactly what it did, and pushed
to a Pushgateway while it runs and once at its end."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from structlog.testing import capture_logs

from snapmode.config import Settings
from snapmode.crawlers.metrics import JOB, CrawlMetrics, refusal_reason
from snapmode.crawlers.run import CrawlSummary, build_job
from snapmode.crawlers.settings import scrapy_settings
from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.crawlers.sinks import CallableSink
from snapmode.crawlers.spiders.product import ProductSpider
from tests.crawlers.conftest import FAST, jsonld_config
from tests.crawlers.shops import Shop
from tests.loopback import LoopbackServer

FAMILIES = {"snapmode_crawl_responses_total", "snapmode_crawl_records_total", "snapmode_crawl_images_total",
            "snapmode_crawl_refusals_total", "snapmode_crawl_retries_total", "snapmode_crawl_seconds"}


def crawl(reactor: Any, site: SiteConfig, settings: Settings, **options: Any) -> tuple[CrawlSummary, Crawler]:
    """One crawl on the session's reactor; its summary and its crawler (stats, extensions)."""
    from twisted.internet.threads import blockingCallFromThread

    job = build_job(site, settings, CallableSink(lambda record: None), allow_private=True, **options)

    def start() -> Any:
        runner = CrawlerRunner(job.scrapy)
        crawler = runner.create_crawler(ProductSpider)
        return runner.crawl(crawler, site=job.site, wiring=job.wiring).addCallback(lambda _: crawler)

    crawler = blockingCallFromThread(reactor, start)
    return CrawlSummary.from_stats(site.name, crawler.stats.get_stats()), crawler


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None, **values)  # type: ignore[call-arg]


def figures(text: str) -> dict[str, dict[str, float]]:
    """`{sample: {its label other than site and job ("" without one): value}}` from Prometheus' text format."""
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = [v for k, v in sample.labels.items() if k not in ("site", "job")]
            found.setdefault(sample.name, {})[labels[0] if labels else ""] = sample.value
    return found


def final_figures(crawler: Crawler) -> dict[str, dict[str, float]]:
    metrics = next(e for e in crawler.extensions.middlewares if isinstance(e, CrawlMetrics))
    return figures(generate_latest(metrics.registry).decode())


def by_status_class(stats: dict[str, Any]) -> dict[str, float]:
    prefix = "downloader/response_status_count/"
    counts = dict.fromkeys(("2xx", "3xx", "4xx", "5xx"), 0.0)
    for key, value in stats.items():
        if key.startswith(prefix):
            counts[f"{key.removeprefix(prefix)[0]}xx"] += value
    return counts


def test_a_crawl_serves_its_metrics_while_it_runs_and_they_count_what_it_did(
        reactor: Any, jsonld: Shop, tmp_path: Path, free_port: int) -> None:
    scraped: list[str] = []
    listing = jsonld.routes["/c/shirts"]

    def scrape_then_answer() -> Any:  # the shop scrapes the crawler's port while the crawler waits for this page
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as answer:
            scraped.append(answer.read().decode())
        return listing

    jsonld.routes["/c/shirts"] = scrape_then_answer
    summary, crawler = crawl(reactor, jsonld_config(jsonld), settings(tmp_path, crawler_metrics_port=free_port))
    stats = crawler.stats.get_stats()

    during = figures(scraped[0])
    assert set(during) == FAMILIES
    from tests.deploy.test_observability import dashboard_metrics

    crawl_panels = {name for name in dashboard_metrics() if name.startswith("snapmode_crawl_")}
    assert crawl_panels and crawl_panels <= set(during)  # what the dashboard's crawler panels query, in a real scrape
    assert 2 <= during["snapmode_crawl_responses_total"]["2xx"] < stats["downloader/response_count"]

    after = final_figures(crawler)
    assert after["snapmode_crawl_responses_total"] == by_status_class(stats)
    assert after["snapmode_crawl_responses_total"]["5xx"] == 1  # /flaky's first answer, retried
    assert after["snapmode_crawl_records_total"] == {"product": 7, "tombstone": 0} and summary.products_sent == 7
    assert after["snapmode_crawl_images_total"] == {"": 8}
    assert after["snapmode_crawl_refusals_total"] == {
        "robots_txt": summary.robots_forbidden, "offsite": 2, "duplicate": stats["dupefilter/filtered"],
        "unchanged": 1, "no_image": 1, "http_4xx": 1, "redirect_loop": 1, "non_html": 1, "malformed_jsonld": 1}
    assert summary.robots_forbidden >= 1 and stats["dupefilter/filtered"] >= 5
    assert summary.offsite_filtered == 2  # the sitemap's entry and the home page's link to elsewhere.invalid
    assert after["snapmode_crawl_retries_total"] == {"retried": summary.retries, "given_up": 0}
    assert summary.retries == 1
    assert 0 < after["snapmode_crawl_seconds"][""] <= summary.seconds + 1

    with pytest.raises(OSError):  # the port goes with the crawl
        urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5)


def test_a_second_crawl_counts_what_redis_already_holds(reactor: Any, jsonld: Shop, redis: Any, tmp_path: Path,
                                                       free_port: int) -> None:
    config = settings(tmp_path, crawler_metrics_port=free_port)
    crawl(reactor, jsonld_config(jsonld), config, redis=redis, run_id="one")
    summary, crawler = crawl(reactor, jsonld_config(jsonld), config, redis=redis, run_id="two")  # the port again

    after = final_figures(crawler)
    assert after["snapmode_crawl_records_total"] == {"product": 0, "tombstone": 0}
    refusals = after["snapmode_crawl_refusals_total"]
    assert refusals["unchanged"] == summary.products_unchanged == 8  # 7 products, one of them seen twice
    assert refusals["duplicate"] == crawler.stats.get_value("dupefilter/filtered") > 0  # the run's set in Redis


class Pushgateway:
    """A loopback stand-in for the Pushgateway: records the method, path and body of each push."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        self.pushed = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        pushes, pushed = self.pushes, self.pushed

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                pushes.append((self.command, self.path, body.decode()))
                pushed.set()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = do_DELETE = _record  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def test_the_crawl_pushes_its_figures_while_it_runs_and_at_its_end(reactor: Any, jsonld: Shop,
                                                                  tmp_path: Path) -> None:
    gateway = Pushgateway()
    listing = jsonld.routes["/c/shirts"]

    def answer_once_pushed() -> Any:  # the crawl cannot end before a push while it runs
        assert gateway.pushed.wait(timeout=10)
        return listing

    jsonld.routes["/c/shirts"] = answer_once_pushed
    with LoopbackServer(gateway.handler()) as server:
        config = settings(tmp_path, pushgateway_url=server.base, pushgateway_interval_s=0.1)
        summary, _ = crawl(reactor, jsonld_config(jsonld), config)

    assert len(gateway.pushes) >= 2  # while it ran, and at its end
    assert {(method, path) for method, path, _ in gateway.pushes} == {("PUT", f"/metrics/job/{JOB}/site/jsonld-shop")}
    assert set(figures(gateway.pushes[0][2])) == FAMILIES
    final = gateway.pushes[-1][2]
    assert 'snapmode_crawl_records_total{kind="product",site="jsonld-shop"} 7.0' in final
    last = figures(final)
    assert set(last) == FAMILIES
    assert last["snapmode_crawl_records_total"]["product"] == summary.products_sent == 7
    assert last["snapmode_crawl_refusals_total"]["robots_txt"] == summary.robots_forbidden >= 1


def test_a_pushgateway_away_is_logged_and_the_crawl_goes_on(reactor: Any, microdata: Shop, tmp_path: Path,
                                                            free_port: int) -> None:
    site = SiteConfig(name="knit", start_urls=[microdata.url("/")], rate=FAST)
    with capture_logs() as logs:
        summary, _ = crawl(reactor, site, settings(tmp_path, pushgateway_url=f"http://127.0.0.1:{free_port}",
                                                   pushgateway_interval_s=0))
    assert summary.finish_reason == "finished" and summary.products_sent == 3
    failed = [line for line in logs if line["event"] == "crawl.metrics_push_failed"]
    assert len(failed) == 1 and failed[0]["final"] is True


def test_without_a_port_or_a_pushgateway_a_crawl_has_no_metrics() -> None:
    site = SiteConfig(name="knit", start_urls=["http://shop.example/"])
    with pytest.raises(NotConfigured):
        CrawlMetrics.from_crawler(get_crawler(settings_dict=scrapy_settings(site, user_agent="test")))


def test_http_errors_are_counted_by_status_class() -> None:
    assert [refusal_reason(r) for r in ("http_404", "http_410", "http_503", "redirect_loop", "http_x")] == [
        "http_4xx", "http_4xx", "http_5xx", "redirect_loop", "http_x"]
