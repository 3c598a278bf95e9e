"""Dedup in a real Redis: a second crawl of an unchanged shop sends nothing, a changed price goes out again."""

from __future__ import annotations

from typing import Any

from tests.crawlers.conftest import Crawl, jsonld_config
from tests.crawlers.shops import Shop, jsonld_product, page


def test_second_crawl_sends_only_what_changed(crawl: Crawl, jsonld: Shop, redis: Any) -> None:
    first, out1 = crawl(jsonld_config(jsonld), redis=redis, run_id="one")
    second, out2 = crawl(jsonld_config(jsonld), redis=redis, run_id="two")

    assert first.products_sent == 7 and len(out1.records) == 7
    assert second.products_sent == 0 and out2.records == []
    assert second.products_unchanged == 8  # 7 products, one of them seen twice
    assert second.pages == first.pages  # every page is visited again: only unchanged products are skipped

    jsonld.routes["/p/jl-1"] = page(jsonld_product("JL-1", "Red Wrap Dress", "39.90",
                                                   ["/img/jl-1-a.jpg", "/img/jl-1-b.jpg"]))
    jsonld.routes["/p/jl-3"] = page(jsonld_product("JL-3", "Silk Evening Gown", "1.299,00",
                                                   ["/img/jl-3.jpg", "/img/jl-3-back.jpg"]))
    third, out3 = crawl(jsonld_config(jsonld), redis=redis, run_id="three")
    assert {(r.product_id, r.price, len(r.image_urls)) for r in out3.records} == {("JL-1", 39.9, 2),
                                                                                 ("JL-3", 1299.0, 2)}
    assert third.products_sent == 2


def test_request_fingerprints_of_a_run_live_in_redis(crawl: Crawl, jsonld: Shop, redis: Any) -> None:
    summary, _ = crawl(jsonld_config(jsonld), redis=redis, run_id="r1")
    key = "snapmode:crawl:jsonld-shop:r1:seen"
    assert redis.scard(key) >= summary.pages  # every page, plus robots-refused and failed requests
    assert 0 < redis.ttl(key) <= 7 * 24 * 3600
    assert redis.hlen("snapmode:crawl:jsonld-shop:content") == 7


def test_without_redis_the_same_product_is_still_sent_once_per_crawl(crawl: Crawl, jsonld: Shop) -> None:
    summary, out = crawl(jsonld_config(jsonld))
    assert len(out.records) == len({r.key for r in out.records}) == 7
