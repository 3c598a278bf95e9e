"""A product page that answers 404 or 410 where a product was sent before yields that product's tombstone, once."""

from __future__ import annotations

from typing import Any

from snapmode.records import ProductRecord, Tombstone
from tests.crawlers.conftest import Crawl, jsonld_config
from tests.crawlers.shops import Shop, html


def test_a_gone_product_page_sends_a_tombstone(crawl: Crawl, jsonld: Shop, redis: Any) -> None:
    first, out1 = crawl(jsonld_config(jsonld), redis=redis, run_id="one")
    assert any(isinstance(r, ProductRecord) and r.product_id == "JL-3" for r in out1.records)

    jsonld.routes["/p/jl-3"] = (410, "text/html", html("no longer sold"), {})
    jsonld.routes["/p/jl-4"] = (404, "text/html", html("not found"), {})
    second, out2 = crawl(jsonld_config(jsonld), redis=redis, run_id="two")

    tombstones = sorted((r for r in out2.records if isinstance(r, Tombstone)), key=lambda t: t.key)
    assert [(t.key, t.reason, t.url) for t in tombstones] == [("jsonld-shop:JL-3", "http_410", jsonld.url("/p/jl-3")),
                                                             ("jsonld-shop:JL-4", "http_404", jsonld.url("/p/jl-4"))]
    assert second.products_deleted == 2 and second.errors.get("http_410") == 1
    assert redis.hget("snapmode:crawl:jsonld-shop:content", "jsonld-shop:JL-3") is None  # sent again if it returns
    assert redis.hget("snapmode:crawl:jsonld-shop:content", "jsonld-shop:JL-1") is not None

    third, out3 = crawl(jsonld_config(jsonld), redis=redis, run_id="three")  # still gone: nothing more to say
    assert third.products_deleted == 0 and not any(isinstance(r, Tombstone) for r in out3.records)


def test_a_page_never_seen_with_a_product_sends_nothing(crawl: Crawl, jsonld: Shop) -> None:
    summary, out = crawl(jsonld_config(jsonld))  # /broken answers 404 and never held a product
    assert summary.products_deleted == 0 and not any(isinstance(r, Tombstone) for r in out.records)
