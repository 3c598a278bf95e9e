"""The sample catalog's own shop website, served on loopback, crawled back into exactly its products."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.datasets.catalog.site import render_site
from snapmode.pipeline.manifest import load_catalog
from tests.crawlers.conftest import FAST, Crawl
from tests.loopback import LoopbackServer, directory_handler

PRODUCTS, VIEWS, PER_PAGE = 30, 2, 8  # four listing pages


@pytest.fixture(scope="module")
def sample_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(catalog dir, base URL) of the rendered shop served over HTTP on a free loopback port."""
    catalog = tmp_path_factory.mktemp("sample-shop")
    generate_catalog(catalog, products=PRODUCTS, views=VIEWS, seed=5)
    with LoopbackServer(directory_handler(catalog / "site")) as server:
        base = server.base + "/"
        render_site(catalog, base_url=base, per_page=PER_PAGE)
        yield catalog, base


def test_crawling_the_sample_shop_yields_its_catalog(crawl: Crawl, sample_shop: tuple[Path, str]) -> None:
    catalog, base = sample_shop
    site = SiteConfig(name="sample-shop", start_urls=[base], sitemap_urls=[base + "sitemap.xml"], rate=FAST)
    summary, out = crawl(site)

    products = {p.product_id: p for p in load_catalog(catalog)}
    records = out.by_id()
    assert {pid: r.image_urls for pid, r in records.items()} == {
        pid: tuple(base + image for image in p.images) for pid, p in products.items()}
    for pid, record in records.items():
        product = products[pid]
        assert (record.title, record.brand, record.colour, record.currency) == (
            product.title, product.brand, product.colour, product.currency)
        assert record.price == pytest.approx(product.price)
        assert (record.category or "").lower() == product.category
        assert record.url == f"{base}product/{pid}.html"
    assert summary.products_sent == PRODUCTS and summary.images_sent == PRODUCTS * VIEWS
    assert not summary.errors
