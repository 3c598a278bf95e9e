"""Render a static shop website from a catalog: listing pages, product pages with JSON-LD, sitemap and robots.txt.

Every link and image in the HTML is relative, so the site works wherever it is served; only `sitemap.xml`,
`robots.txt` and the canonical URLs, which must be absolute, use `base_url`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from jinja2 import Environment, FileSystemLoader, select_autoescape

from snapmode.pipeline.manifest import CatalogProduct, load_catalog, product_page

DEFAULT_BASE_URL = "http://127.0.0.1:8080/"
SHOP_NAME = "SnapMode Sample Shop"
DISALLOWED = "/cart/"
_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


@dataclass(frozen=True, slots=True)
class SiteSummary:
    root: Path
    products: int
    listing_pages: int
    pages: list[str]  # every HTML page, relative to the site root


def listing_page(number: int) -> str:
    """The path of listing page `number` (1-based); page 1 is the home page."""
    return "index.html" if number == 1 else f"page/{number}.html"


def category_page(category: str) -> str:
    return f"category/{category.replace(' ', '-')}.html"


def render_site(catalog: Path, out: Path | None = None, *, base_url: str = DEFAULT_BASE_URL, per_page: int = 24,
                shop: str = SHOP_NAME) -> SiteSummary:
    """Write the shop for the catalog in `catalog` into `out` (default `catalog/site`), replacing any old one."""
    catalog = Path(catalog)
    out = Path(out) if out else catalog / "site"
    base_url = base_url.rstrip("/") + "/"
    products = load_catalog(catalog)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _link_images(products, catalog, out)

    pages: list[str] = []
    categories = sorted({p.category or "other" for p in products})
    category_links = [{"name": c, "href": category_page(c)} for c in categories]
    count = max(1, -(-len(products) // per_page))
    hrefs = [listing_page(n) for n in range(1, count + 1)]
    for number in range(1, count + 1):
        chunk = products[(number - 1) * per_page:number * per_page]
        _write(out, hrefs[number - 1], "listing.html", shop=shop, heading="All products" if number == 1
               else f"All products, page {number}", products=[_card(p) for p in chunk], categories=category_links,
               page=number, pages=count, page_hrefs=hrefs, prev_href=hrefs[number - 2] if number > 1 else None,
               next_href=hrefs[number] if number < count else None, canonical=base_url + hrefs[number - 1])
        pages.append(hrefs[number - 1])
    for category in categories:
        members = [_card(p) for p in products if (p.category or "other") == category]
        _write(out, category_page(category), "listing.html", shop=shop, heading=category.capitalize(),
               products=members, categories=category_links, page=1, pages=1, page_hrefs=[], prev_href=None,
               next_href=None, canonical=base_url + category_page(category))
        pages.append(category_page(category))
    for product in products:
        _write_product(out, product, shop, base_url)
        pages.append(product_page(product.product_id))
    _write(out, "cart/index.html", "cart.html", shop=shop, canonical=None)

    (out / "robots.txt").write_text(f"User-agent: *\nDisallow: {DISALLOWED}\n\nSitemap: {base_url}sitemap.xml\n")
    _write_sitemap(out, [base_url + page for page in pages])
    return SiteSummary(root=out, products=len(products), listing_pages=count, pages=pages)


def product_json_ld(product: CatalogProduct, images: list[str], url: str) -> dict:
    """schema.org Product for a product page; `images` relative to the page."""
    offer = {"@type": "Offer", "price": f"{product.price:.2f}" if product.price is not None else None,
             "priceCurrency": product.currency, "availability": f"https://schema.org/{product.availability}",
             "url": url}
    data = {"@context": "https://schema.org", "@type": "Product", "name": product.title, "sku": product.product_id,
            "productID": product.product_id, "url": url, "image": images, "description": product.description,
            "brand": {"@type": "Brand", "name": product.brand}, "color": product.colour,
            "category": product.category, "material": product.material, "offers": offer}
    return {k: v for k, v in data.items() if v is not None}


def _write_product(out: Path, product: CatalogProduct, shop: str, base_url: str) -> None:
    page = product_page(product.product_id)
    images = [_relative(image, page) for image in product.images]
    url = base_url + page
    category = product.category or "other"
    crumbs = [{"name": "Home", "href": "index.html"}, {"name": category.capitalize(), "href": category_page(category)},
              {"name": product.title, "href": None}]
    breadcrumb_ld = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": i, "name": c["name"], "item": base_url + (c["href"] or page)}
        for i, c in enumerate(crumbs, 1)]}
    _write(out, page, "product.html", shop=shop, p=product, price=_price(product), images=images, crumbs=crumbs,
           product_ld=product_json_ld(product, images, url), breadcrumb_ld=breadcrumb_ld, canonical=url)


def _card(product: CatalogProduct) -> dict:
    return {"product_id": product.product_id, "title": product.title, "brand": product.brand or "",
            "price": _price(product), "href": product_page(product.product_id), "image": product.images[0]}


def _price(product: CatalogProduct) -> str:
    return f"{product.price:.2f} {product.currency or ''}".strip() if product.price is not None else ""


def _write(out: Path, path: str, template: str, **context: object) -> None:
    target = out / path
    target.parent.mkdir(parents=True, exist_ok=True)
    root = "../" * path.count("/")
    target.write_text(_TEMPLATES.get_template(template).render(root=root, **context), encoding="utf-8")


def _write_sitemap(out: Path, urls: list[str]) -> None:
    entries = "".join(f"  <url><loc>{escape(url)}</loc></url>\n" for url in urls)
    (out / "sitemap.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                                     '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                                     f"{entries}</urlset>\n", encoding="utf-8")


def _link_images(products: list[CatalogProduct], catalog: Path, out: Path) -> None:
    """Put the photos inside the site (hard links where possible), so serving the site dir serves them too."""
    for product in products:
        for image in product.images:
            source, target = catalog / image, out / image
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)


def _relative(path: str, page: str) -> str:
    return "../" * page.count("/") + path
