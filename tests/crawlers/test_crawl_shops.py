"""Whole crawls of the loopback fixture shops: exactly the right products and images, every problem counted."""

from __future__ import annotations

from tests.crawlers.conftest import FAST, Crawl, jsonld_config
from tests.crawlers.shops import Shop
from snapmode.crawlers.siteconfig import Selectors, SiteConfig


def images(shop: Shop, *paths: str) -> tuple[str, ...]:
    return tuple(shop.url(p) for p in paths)


def test_jsonld_shop(crawl: Crawl, jsonld: Shop) -> None:
    summary, out = crawl(jsonld_config(jsonld))
    products = out.by_id()

    assert {pid: r.image_urls for pid, r in products.items()} == {
        "JL-1": images(jsonld, "/img/jl-1-a.jpg", "/img/jl-1-b.jpg"),
        "JL-2": images(jsonld, "/img/jl-2.jpg"),
        "JL-3": images(jsonld, "/img/jl-3.jpg"),
        "JL-4": images(jsonld, "/img/jl-4.jpg"),
        "JL-5": images(jsonld, "/img/jl-5.jpg"),
        "JL-6": images(jsonld, "/img/jl-6.jpg"),
        "JL-8": images(jsonld, "/img/jl-8.jpg"),
    }
    assert len(out.records) == 7  # JL-1 and JL-2 are listed on several pages and URLs, and sent once
    jl1, jl3, jl4, jl6 = products["JL-1"], products["JL-3"], products["JL-4"], products["JL-6"]
    assert (jl1.site, jl1.url, jl1.title, jl1.brand, jl1.category, jl1.colour, jl1.price, jl1.currency,
            jl1.availability) == ("jsonld-shop", jsonld.url("/p/jl-1"), "Red Wrap Dress", "Acme", "Dresses", "red",
                                  49.9, "EUR", "InStock")
    assert products["JL-2"].url == jsonld.url("/p/jl-2")
    assert (jl3.price, jl4.category, jl4.brand, products["JL-5"].url) == (1299.0, "Shirts", "Tailor",
                                                                         jsonld.url("/flaky"))
    assert (jl6.title, jl6.price, jl6.currency) == ("Trailing Comma Tee", 9.99, "GBP")
    assert products["JL-8"].price is None

    assert summary.errors == {"http_404": 1, "redirect_loop": 1, "non_html": 1, "malformed_jsonld": 1,
                              "no_image": 1}
    assert summary.warnings == {"no_price": 1}
    assert summary.products_sent == 7 and summary.images_sent == 8
    assert summary.products_unchanged == 1  # /sale/jl-2 shows the same JL-2
    assert summary.retries >= 1 and jsonld.hits["/flaky"] == 2
    assert summary.robots_forbidden >= 1 and not any(p.startswith("/private/") for p in jsonld.hits)
    assert not any("ref=" in p for p in jsonld.hits) and jsonld.hits["/p/jl-1"] == 1
    assert summary.finish_reason == "finished"


def test_microdata_only_shop_with_pagination(crawl: Crawl, microdata: Shop) -> None:
    site = SiteConfig(name="knit", start_urls=[microdata.url("/")], rate=FAST)
    summary, out = crawl(site)
    products = out.by_id()

    assert {pid: r.image_urls for pid, r in products.items()} == {
        "MD-1": images(microdata, "/img/md-1-l.jpg", "/img/md-1-back.jpg"),
        "MD-2": images(microdata, "/img/md-2@2x.jpg"),
        "MD-3": images(microdata, "/img/md-3.jpg"),
    }
    md2 = products["MD-2"]
    assert (md2.title, md2.brand, md2.price, md2.currency, md2.colour, md2.category, md2.availability) == (
        "Wool Cardigan", "Nordic Knit", 1199.5, "SEK", "grey", "Knitwear", "OutOfStock")
    assert microdata.hits["/list?page=3"] == 1 and "/account" not in microdata.hits
    assert summary.errors == {} and summary.products_sent == 3 and summary.robots_forbidden == 1


def test_opengraph_only_shop_with_lazy_images(crawl: Crawl, opengraph: Shop) -> None:
    site = SiteConfig(name="street", start_urls=[opengraph.url("/")], rate=FAST,
                      selectors=Selectors(images=".gallery img"))
    summary, out = crawl(site)
    products = out.by_id()

    assert {pid: r.image_urls for pid, r in products.items()} == {
        "OG-1": images(opengraph, "/img/og-1-1200.jpg", "/img/og-1b-1600.webp"),
        "OG-2": images(opengraph, "/img/og-2-full.jpg", "/img/og-2-side.jpg"),
        "OG-3": images(opengraph, "/img/og-3.jpg"),
    }
    og2 = products["OG-2"]
    assert (og2.title, og2.brand, og2.price, og2.currency, og2.category, og2.availability) == (
        "Runner Low", "Streetwise", 120.0, "USD", "Sneakers", "InStock")
    assert "/search?q=shoes" not in opengraph.hits and summary.robots_forbidden == 1
    assert summary.errors == {} and summary.products_sent == 3


def test_a_shop_url_alone_is_enough(crawl: Crawl, microdata: Shop) -> None:
    summary, out = crawl(SiteConfig.for_url(microdata.url("/")).model_copy(update={"rate": FAST}))
    assert {r.product_id for r in out.records} == {"MD-1", "MD-2", "MD-3"}
    assert {r.site for r in out.records} == {f"127.0.0.1-{microdata.server.port}"}  # one ":" in a product key
    assert summary.warnings == {"no_sitemap": 1}


def test_loopback_is_refused_unless_allowed(crawl: Crawl, microdata: Shop) -> None:
    summary, out = crawl(SiteConfig(name="knit", start_urls=[microdata.url("/")], rate=FAST), allow_private=False)
    assert out.records == [] and summary.pages == 0 and not microdata.hits
    assert summary.errors == {"private_address": 1}


def test_max_pages_stops_the_crawl(crawl: Crawl, jsonld: Shop) -> None:
    summary, _ = crawl(jsonld_config(jsonld, sitemap_urls=[]), max_pages=3)
    assert summary.finish_reason == "closespider_pagecount"
    assert summary.pages <= 3
