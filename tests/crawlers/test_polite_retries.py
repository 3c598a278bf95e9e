"""Retries wait: a shop that answers 429 with `Retry-After: 2` gets its retry no sooner than 2 s later, and nothing
else from the crawler meanwhile; other failures wait a delay that doubles per try."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from snapmode.crawlers.middlewares.retries import retry_after_s
from snapmode.crawlers.siteconfig import RateLimits, SiteConfig
from tests.crawlers.conftest import Crawl
from tests.crawlers.shops import Shop, html, jsonld_product, page, serve_images
from tests.loopback import Response

POLITE = RateLimits(download_delay_s=0, concurrency_per_domain=4, autothrottle=False, retry_times=3, timeout_s=5,
                    retry_first_delay_s=0.5, retry_max_delay_s=10)


def timed(shop: Shop, arrivals: list[tuple[str, float]]) -> Callable[[str], Response]:
    """`shop.respond`, noting when each request arrived."""
    def respond(path: str) -> Response:
        arrivals.append((path, time.monotonic()))
        return Shop.respond(shop, path)
    return respond


def refusing(first: Response, then: Response, times: int = 1) -> Callable[[], Response]:
    count = {"n": 0}

    def respond() -> Response:
        count["n"] += 1
        return first if count["n"] <= times else then
    return respond


@pytest.fixture
def shop() -> Iterator[tuple[Shop, list[tuple[str, float]]]]:
    shop, arrivals = Shop(), []
    r = shop.routes
    r["/robots.txt"] = (200, "text/plain", b"User-agent: *\n", {})
    r["/"] = page(body='<a href="/p/busy">busy</a> <a href="/p/down">down</a> <a href="/p/calm">calm</a>')
    busy = page(jsonld_product("B-1", "Busy Dress", "10.00", ["/img/b.jpg"]))
    r["/p/busy"] = refusing((429, "text/html", html("slow down"), {"Retry-After": "2"}), busy)
    r["/p/down"] = refusing((500, "text/html", html("oops"), {}), page(jsonld_product("D-1", "Down Shirt", "5.00",
                                                                                     ["/img/d.jpg"])), times=2)
    r["/p/calm"] = page(jsonld_product("C-1", "Calm Hat", "7.00", ["/img/c.jpg"]))
    serve_images(shop, ["/img/b.jpg", "/img/d.jpg", "/img/c.jpg"])
    shop.respond = timed(shop, arrivals)  # type: ignore[method-assign]
    shop.start()
    yield shop, arrivals
    shop.stop()


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert retry_after_s(b"2") == 2.0 and retry_after_s(None) is None and retry_after_s(b"soon") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


@pytest.mark.timeout(60)
def test_a_429_with_retry_after_is_retried_after_it_and_holds_the_site(crawl: Crawl, shop) -> None:  # type: ignore[no-untyped-def]
    served, arrivals = shop
    site = SiteConfig(name="polite", start_urls=[served.url("/")], allowed_domains=["127.0.0.1"], rate=POLITE)
    summary, out = crawl(site)

    assert {r.product_id for r in out.records} == {"B-1", "D-1", "C-1"}  # every product, once it was allowed
    busy = [t for path, t in arrivals if path == "/p/busy"]
    assert len(busy) == 2 and busy[1] - busy[0] >= 1.95, busy  # Retry-After: 2 kept
    refused_at = busy[0]
    meanwhile = [path for path, t in arrivals if refused_at + 0.1 < t < refused_at + 1.9]
    assert meanwhile == [], meanwhile  # the whole site waited, not only the one page
    down = [t for path, t in arrivals if path == "/p/down"]
    assert len(down) == 3 and down[1] - down[0] >= 0.45 and down[2] - down[1] >= 0.95  # 0.5 s, then 1 s at least
    assert summary.retries >= 3


def test_an_answer_to_a_request_sent_before_the_hold_does_not_shorten_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.http import Response as ScrapyResponse
    from scrapy.settings import Settings

    import snapmode.crawlers.middlewares.retries as retries

    clock = {"now": 100.0}
    monkeypatch.setattr(retries.time, "monotonic", lambda: clock["now"])
    slot = SimpleNamespace(delay=0.25, jitter=True, lastseen=0.0)
    middleware = retries.PoliteRetryMiddleware(Settings({"RETRY_TIMES": 3}))
    middleware.crawler = SimpleNamespace(engine=SimpleNamespace(downloader=SimpleNamespace(slots={"shop": slot})))
    refused = Request("http://shop/busy", meta={"download_slot": "shop"})
    middleware._hold(refused, 2.0, 429)
    assert (slot.delay, slot.jitter) == (2.0, 0.0)
    earlier = Request("http://shop/calm", meta={"download_slot": "shop"})
    clock["now"] = 101.0  # an answer to a request that was in flight when the 429 came
    middleware.process_response(earlier, ScrapyResponse(earlier.url, status=200))
    assert slot.delay == 2.0  # still held
    clock["now"] = 102.5  # the retry's own answer, after the hold
    middleware.process_response(refused, ScrapyResponse(refused.url, status=200))
    assert (slot.delay, slot.jitter) == (0.25, True)  # the site's own pace back
