"""Fixture shops served on loopback: a JSON-LD shop, a microdata-only shop and an OpenGraph-only shop."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.conftest import jpeg_bytes
from tests.loopback import LoopbackServer, Response, route_handler



def html(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>".encode()


def page(head: str = "", body: str = "") -> Response:
    return 200, "text/html; charset=utf-8", html(body, head), {}


def links(*paths: str) -> str:
    return "".join(f'<a href="{p}">{p}</a> ' for p in paths)


@dataclass
class Shop:
    """A loopback web shop: `routes` maps a path (with query) to a response or to a function giving one."""

    routes: dict[str, Response | Callable[[], Response]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def start(self) -> Shop:
        self.server = LoopbackServer(route_handler(self.respond))
        return self

    def respond(self, path: str) -> Response:
        self.hits[path] += 1
        route = self.routes.get(path)
        if route is None:
            return 404, "text/html", html("not found"), {}
        return route() if callable(route) else route

    def stop(self) -> None:
        self.server.close()

    @property
    def base(self) -> str:
        return self.server.base

    def url(self, path: str) -> str:
        return self.base + path


def serve_images(shop: Shop, paths: list[str]) -> None:
    for i, path in enumerate(paths):
        shop.routes[path] = (200, "image/jpeg", jpeg_bytes((40 * i % 256, 120, 200 - 30 * i % 200)), {})


def redirect(to: str) -> Response:
    return 302, "text/html", b"", {"Location": to}


def flaky(then: Response, failures: int = 1) -> Callable[[], Response]:
    """A route that answers 500 `failures` times, then `then`."""
    count = {"n": 0}

    def respond() -> Response:
        count["n"] += 1
        return (500, "text/html", html("try again"), {}) if count["n"] <= failures else then

    return respond


# --- JSON-LD shop -------------------------------------------------------------------------------------------------

def jsonld_product(sku: str, name: str, price: str | None, images: list, *, brand: str = "Acme",
                   crumbs: tuple[str, ...] = ("Home", "Women", "Dresses"), colour: str = "red") -> str:
    product: dict = {"@context": "https://schema.org", "@type": "Product", "sku": sku, "name": name,
                     "brand": {"@type": "Brand", "name": brand}, "color": colour, "image": images}
    if price is not None:
        product["offers"] = {"@type": "Offer", "price": price, "priceCurrency": "EUR",
                             "availability": "https://schema.org/InStock"}
    breadcrumbs = {"@context": "https://schema.org", "@type": "BreadcrumbList",
                   "itemListElement": [{"@type": "ListItem", "position": i + 1, "name": n}
                                       for i, n in enumerate((*crumbs, name))]}
    return (f'<script type="application/ld+json">{json.dumps(product)}</script>'
            f'<script type="application/ld+json">{json.dumps(breadcrumbs)}</script>')


def jsonld_shop(prices: dict[str, str] | None = None) -> Shop:
    prices = {"jl-1": "49.90", "jl-2": "59.00", "jl-3": "1.299,00", "jl-4": "19.5", "jl-5": "25.00",
              **(prices or {})}
    shop = Shop()
    r = shop.routes
    r["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /private/\n", {})
    r["/sitemap.xml"] = (200, "application/xml", (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{base}/p/jl-1</loc></url><url><loc>{base}/private/p/jl-secret</loc></url>"
        "<url><loc>http://elsewhere.invalid/p/x</loc></url></urlset>").encode(), {})
    r["/"] = page(body=links("/c/dresses", "/c/shirts", "http://elsewhere.invalid/"))
    r["/c/dresses"] = page(body=links("/p/jl-1", "/p/jl-2", "/c/dresses?page=2"))
    r["/c/dresses?page=2"] = page(body=links("/p/jl-2", "/p/jl-3", "/p/jl-1?ref=sale", "/sale/jl-2"))
    r["/c/shirts"] = page(body=links("/p/jl-4", "/broken", "/flaky", "/loop", "/private/p/jl-secret", "/feed",
                                     "/p/jl-bad", "/p/jl-repaired", "/p/jl-noimg", "/p/jl-noprice",
                                     "/img/logo.png"))
    r["/p/jl-1"] = page(jsonld_product("JL-1", "Red Wrap Dress", prices["jl-1"],
                                       ["/img/jl-1-a.jpg", "/img/jl-1-b.jpg", "/img/jl-1-a.jpg"]))
    jl2 = page(jsonld_product("JL-2", "Blue Maxi Dress", prices["jl-2"],
                              [{"@type": "ImageObject", "url": "/img/jl-2.jpg"}], colour="blue")
               + '<link rel="canonical" href="/p/jl-2">')
    r["/p/jl-2"] = r["/sale/jl-2"] = jl2
    r["/p/jl-3"] = page(jsonld_product("JL-3", "Silk Evening Gown", prices["jl-3"], "/img/jl-3.jpg"))
    r["/p/jl-4"] = page(jsonld_product("JL-4", "Oxford Shirt", prices["jl-4"],
                                       ["{base}/img/jl-4.jpg"], crumbs=("Home", "Men", "Shirts"), brand="Tailor"))
    r["/flaky"] = flaky(page(jsonld_product("JL-5", "Linen Shirt", prices["jl-5"], ["/img/jl-5.jpg"],
                                            crumbs=("Home", "Men", "Shirts"))))
    r["/broken"] = (404, "text/html", html("gone"), {})
    r["/loop"] = redirect("/loop2")
    r["/loop2"] = redirect("/loop")
    r["/feed"] = (200, "application/json", b'{"products": []}', {})
    r["/private/p/jl-secret"] = page(jsonld_product("JL-SECRET", "Secret", "1", ["/img/secret.jpg"]))
    r["/p/jl-bad"] = page('<script type="application/ld+json">{"@type": "Product", "name": "Broken" "sku": }</script>')
    r["/p/jl-repaired"] = page('<script type="application/ld+json">{"@type": "Product", "sku": "JL-6", '
                               '"name": "Trailing Comma Tee", "image": ["/img/jl-6.jpg",], '
                               '"offers": {"price": 9.99, "priceCurrency": "GBP",},}</script>')
    r["/p/jl-noimg"] = page(jsonld_product("JL-7", "Invisible Scarf", "5.00", []))
    r["/p/jl-noprice"] = page(jsonld_product("JL-8", "Priceless Hat", None, ["/img/jl-8.jpg"]))
    return shop


def fill_base(shop: Shop) -> Shop:
    """Replace `{base}` in static bodies by the shop's address, once it is listening."""
    for path, route in list(shop.routes.items()):
        if not callable(route):
            status, kind, body, headers = route
            shop.routes[path] = (status, kind, body.replace(b"{base}", shop.base.encode()), headers)
    return shop


# --- Microdata-only shop ------------------------------------------------------------------------------------------

def microdata_product(pid: str, name: str, price: str, images: list[str], colour: str) -> str:
    pictures = "".join(f'<img itemprop="image" src="{src}" srcset="{srcset}">' for src, srcset in images)
    return f"""
    <ol itemscope itemtype="https://schema.org/BreadcrumbList">
      <li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">
        <a itemprop="item" href="/"><span itemprop="name">Home</span></a><meta itemprop="position" content="1"></li>
      <li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">
        <a itemprop="item" href="/list"><span itemprop="name">Knitwear</span></a><meta itemprop="position" content="2">
      </li></ol>
    <div itemscope itemtype="https://schema.org/Product">
      <h1 itemprop="name">{name}</h1><span itemprop="productID">{pid}</span>
      <div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><span itemprop="name">Nordic Knit</span></div>
      <span itemprop="color">{colour}</span>{pictures}
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="{price}">{price} kr</span><meta itemprop="priceCurrency" content="SEK">
        <link itemprop="availability" href="https://schema.org/OutOfStock"></div>
      <div itemscope itemtype="https://schema.org/Product" itemprop="isRelatedTo">
        <span itemprop="name">Related thing</span><img itemprop="image" src="/img/related.jpg"></div>
    </div>"""


def microdata_shop() -> Shop:
    shop = Shop()
    r = shop.routes
    r["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /account\n", {})
    r["/"] = page(body=links("/list", "/account"))
    r["/list"] = page('<link rel="next" href="/list?page=2">', links("/item/md-1", "/item/md-2"))
    r["/list?page=2"] = page('<link rel="next" href="/list?page=3">', links("/item/md-2", "/item/md-3"))
    r["/list?page=3"] = page(body=links("/item/md-1", "/item/md-3"))
    r["/account"] = page(body="secret account page " + links("/item/md-hidden"))
    r["/item/md-1"] = page(body=microdata_product(
        "MD-1", "Cable Knit Sweater", "899.00",
        [("/img/md-1-s.jpg", "/img/md-1-s.jpg 320w, /img/md-1-l.jpg 1280w, /img/md-1-m.jpg 640w"),
         ("/img/md-1-back.jpg", "")], "cream"))
    r["/item/md-2"] = page(body=microdata_product(
        "MD-2", "Wool Cardigan", "1 199,50", [("/img/md-2.jpg", "/img/md-2.jpg 1x, /img/md-2@2x.jpg 2x")], "grey"))
    r["/item/md-3"] = page(body=microdata_product("MD-3", "Mohair Beanie", "249", [("/img/md-3.jpg", "")], "red"))
    r["/item/md-hidden"] = page(body=microdata_product("MD-H", "Hidden", "1", [("/img/h.jpg", "")], "red"))
    return shop


# --- OpenGraph-only shop with lazy-loaded galleries ----------------------------------------------------------------

def og_product(pid: str, title: str, price: str, gallery: str, og_image: str) -> Response:
    head = (f'<meta property="og:type" content="product"><meta property="og:title" content="{title}">'
            f'<meta property="og:image" content="{og_image}">'
            f'<meta property="product:retailer_item_id" content="{pid}">'
            f'<meta property="product:brand" content="Streetwise">'
            f'<meta property="product:price:amount" content="{price}">'
            f'<meta property="product:price:currency" content="usd">'
            f'<meta property="product:availability" content="in stock">'
            f'<meta property="product:category" content="Footwear > Sneakers">')
    return page(head, f'<div class="gallery">{gallery}</div><div class="related"><img src="/img/ad.jpg"></div>')


def opengraph_shop() -> Shop:
    shop = Shop()
    r = shop.routes
    r["/robots.txt"] = (200, "text/plain", b"User-agent: *\nDisallow: /search\n", {})
    r["/"] = page(body=links("/shop/1", "/search?q=shoes"))
    r["/shop/1"] = page(body=links("/products/og-1", "/products/og-2", "/shop/2"))
    r["/shop/2"] = page(body=links("/products/og-2", "/products/og-3", "/shop/1"))
    r["/search?q=shoes"] = page(body=links("/products/og-secret"))
    r["/products/og-1"] = og_product("OG-1", "Court Sneaker", "89.00", (
        '<img class="lazy" src="/img/placeholder.gif" data-src="/img/og-1-800.jpg" '
        'data-srcset="/img/og-1-400.jpg 400w, /img/og-1-1200.jpg 1200w, /img/og-1-800.jpg 800w">'
        '<picture><source srcset="/img/og-1b-600.webp 600w, /img/og-1b-1600.webp 1600w">'
        '<img src="/img/og-1b-600.jpg"></picture>'), "{base}/img/og-1-1200.jpg")
    r["/products/og-2"] = og_product("OG-2", "Runner Low", "$120", (
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/og-2-full.jpg">'
        '<img data-lazy-src="/img/og-2-side.jpg">'), "/img/og-2-full.jpg")
    r["/products/og-3"] = og_product("OG-3", "Trail Boot", "150", "", "/img/og-3.jpg")
    return shop
