"""The static shop: JSON-LD on every product page, complete pagination, sitemap and robots.txt."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from snapmode.datasets.catalog.site import SiteSummary, render_site
from snapmode.pipeline.manifest import load_catalog

BASE = "http://shop.test/"


class Page(HTMLParser):
    """Links, images and JSON-LD blocks of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str | None]] = []
        self.images: list[str] = []
        self.json_ld: list[dict] = []
        self._in_ld = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a":
            self.links.append((a["href"] or "", a.get("rel")))
        elif tag == "img":
            self.images.append(a["src"] or "")
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_endtag(self, tag: str) -> None:
        self._in_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld.append(json.loads(data))


def read(site: Path, path: str) -> Page:
    return Page((site / path).read_text(encoding="utf-8"))


def resolve(site: Path, page: str, href: str) -> Path:
    """The file a relative link on `page` points to."""
    return site / urljoin(page, href).split("#")[0]


@pytest.fixture(scope="module")
def site(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> SiteSummary:
    return render_site(small_catalog, tmp_path_factory.mktemp("site"), base_url=BASE, per_page=8)


def test_every_product_page_has_the_expected_json_ld(small_catalog: Path, site: SiteSummary) -> None:
    for product in load_catalog(small_catalog):
        path = f"product/{product.product_id}.html"
        page = read(site.root, path)
        ld = next(d for d in page.json_ld if d["@type"] == "Product")
        assert (ld["name"], ld["sku"], ld["brand"]["name"]) == (product.title, product.product_id, product.brand)
        assert (ld["color"], ld["category"]) == (product.colour, product.category)
        offer = ld["offers"]
        assert float(offer["price"]) == pytest.approx(product.price)
        assert offer["priceCurrency"] == product.currency
        assert offer["availability"] == f"https://schema.org/{product.availability}"
        assert len(ld["image"]) == len(product.images)
        for image in ld["image"]:
            assert resolve(site.root, path, image).read_bytes()[:2] == b"\xff\xd8"  # the JPEG is served there
        crumbs = next(d for d in page.json_ld if d["@type"] == "BreadcrumbList")["itemListElement"]
        assert [c["position"] for c in crumbs] == [1, 2, 3] and crumbs[-1]["name"] == product.title


def test_pagination_reaches_every_listing_page_and_every_product(small_catalog: Path, site: SiteSummary) -> None:
    seen_pages, seen_products, path = [], set(), "index.html"
    while path:
        seen_pages.append(path)
        page = read(site.root, path)
        seen_products |= {m.group(1) for href, _ in page.links if (m := re.search(r"product/(\w+)\.html$", href))}
        for href, _ in page.links:
            assert resolve(site.root, path, href).is_file(), f"broken link {href} on {path}"
        for src in page.images:
            assert resolve(site.root, path, src).is_file(), f"broken image {src} on {path}"
        nexts = [href for href, rel in page.links if rel == "next"]
        path = urljoin(path, nexts[0]) if nexts else None
    assert len(seen_pages) == site.listing_pages == 4  # 30 products, 8 a page
    assert seen_products == {p.product_id for p in load_catalog(small_catalog)}
    last = read(site.root, seen_pages[-1])
    assert [rel for _, rel in last.links if rel in ("prev", "next")] == ["prev"]


def test_sitemap_lists_every_product_page(small_catalog: Path, site: SiteSummary) -> None:
    tree = ET.parse(site.root / "sitemap.xml")
    locs = {e.text for e in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    for product in load_catalog(small_catalog):
        assert f"{BASE}product/{product.product_id}.html" in locs
    for loc in locs:
        assert loc.startswith(BASE) and (site.root / loc[len(BASE):]).is_file()


def test_robots_disallows_the_cart_and_points_to_the_sitemap(site: SiteSummary) -> None:
    robots = (site.root / "robots.txt").read_text()
    assert "Disallow: /cart/" in robots and f"Sitemap: {BASE}sitemap.xml" in robots
