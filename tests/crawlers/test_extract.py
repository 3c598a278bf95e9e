"""Extraction from markup alone: prices, srcset variants, forgiving JSON-LD, nested microdata, selector overrides."""

from __future__ import annotations

import pytest
from parsel import Selector

from snapmode.crawlers.extract import normalise
from snapmode.crawlers.extract.images import image_urls, parse_srcset
from snapmode.crawlers.extract.jsonld import extract_jsonld
from snapmode.crawlers.extract.microdata import extract_microdata
from snapmode.crawlers.extract.product import extract_product
from snapmode.crawlers.siteconfig import Selectors


@pytest.mark.parametrize(("raw", "value"), [
    (49.9, 49.9), ("49.90", 49.9), ("€1.299,00", 1299.0), ("1,299.00 USD", 1299.0), ("1 199,50 kr", 1199.5),
    ("12,5", 12.5), ("1,299", 1299.0), ("1.299.000", 1299000.0), ("free", None), (None, None), (-3, None)])
def test_price(raw: object, value: float | None) -> None:
    assert normalise.price(raw) == value


@pytest.mark.parametrize(("code", "text", "iso"), [
    ("eur", None, "EUR"), (None, "£20", "GBP"), (None, "20 CHF", "CHF"), ("", "$5", "USD"), (None, "20", None)])
def test_currency(code: str | None, text: str | None, iso: str | None) -> None:
    assert normalise.currency(code, text) == iso


def test_srcset_largest_variant_wins() -> None:
    assert parse_srcset("a.jpg 320w, b.jpg 1280w,c.jpg 640w") == [("a.jpg", 320.0), ("b.jpg", 1280.0),
                                                                     ("c.jpg", 640.0)]
    page = Selector('<div><img src="p.gif" srcset="s.jpg 1x, l.jpg 2x"><img src="data:image/gif;base64,AA" '
                    'data-original="/o.jpg"><img src="/blank.gif"><img data-src="//cdn.example/x.jpg"></div>')
    assert image_urls(page.css("img"), "https://shop.example/p/1") == [
        "https://shop.example/p/l.jpg", "https://shop.example/o.jpg", "https://cdn.example/x.jpg"]


def test_jsonld_graph_offers_and_repairs() -> None:
    page = Selector("""<script type="application/ld+json"><!--
      {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "mainEntity": {"@type": ["Product"], "productID": "P9", "name": "Parka",
          "image": {"@type": "ImageObject", "contentUrl": "/parka.jpg"},
          "offers": {"@type": "AggregateOffer", "lowPrice": "120", "priceCurrency": "EUR",}}},
        {"@type": "ItemList", "itemListElement": [{"@type": "Product", "name": "Related"}]}
      ]}
    --></script>""")
    result = extract_jsonld(page)
    assert result.malformed == 0 and len(result.products) == 1
    parka = result.products[0]
    assert (parka.product_id, parka.title, parka.price, parka.currency, parka.images) == (
        "P9", "Parka", 120.0, "EUR", ["/parka.jpg"])
    assert extract_jsonld(Selector('<script type="application/ld+json">{"name": </script>')).malformed == 1


def test_microdata_keeps_nested_items_apart() -> None:
    page = Selector("""<div itemscope itemtype="http://schema.org/Product"><span itemprop="name">Coat</span>
      <span itemprop="sku">C1</span><img itemprop="image" src="/c.jpg" data-srcset="/c-2000.jpg 2000w">
      <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="300">
        <meta itemprop="priceCurrency" content="EUR"><span itemprop="name">Offer name</span></div>
      <div itemprop="review" itemscope itemtype="http://schema.org/Review"><img itemprop="image" src="/r.jpg"></div>
    </div>""")
    products, crumbs = extract_microdata(page)
    assert len(products) == 1 and crumbs == []
    coat = products[0]
    assert (coat.title, coat.product_id, coat.price, coat.images) == ("Coat", "C1", 300.0, ["/c-2000.jpg"])


def test_site_selectors_override_and_complete() -> None:
    page = Selector("""<head><meta property="og:type" content="product"><meta property="og:title" content="OG title">
      <meta property="og:image" content="/og.jpg"></head><body><h1 class="name">Shop title</h1>
      <span class="swatch" data-colour="navy">Navy</span><div class="price">EUR 59,00</div></body>""")
    selectors = Selectors(title="h1.name", colour=".swatch::attr(data-colour)", price="//div[@class='price']")
    found = extract_product(page, "https://s.example/item/navy-coat.html?utm_source=x", site="s",
                            selectors=selectors, strip_params=("utm_source",))
    assert found.fields is not None
    assert {k: found.fields[k] for k in ("title", "colour", "price", "currency", "product_id", "url", "image_urls")} \
        == {"title": "Shop title", "colour": "navy", "price": 59.0, "currency": "EUR", "product_id": "navy-coat",
            "url": "https://s.example/item/navy-coat.html", "image_urls": ["https://s.example/og.jpg"]}


def test_a_page_without_product_gives_nothing() -> None:
    found = extract_product(Selector("<html><body><h1>Women</h1></body></html>"), "https://s.example/", site="s")
    assert found.fields is None and found.problems == []
