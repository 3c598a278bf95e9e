"""A product described only by OpenGraph (`og:*`) and product (`product:*`) meta tags."""

from __future__ import annotations

from parsel import Selector

from snapmode.crawlers.extract import normalise
from snapmode.crawlers.extract.facts import ProductFacts


def extract_opengraph(page: Selector) -> ProductFacts | None:
    """The page's product, when `og:type` says product or `product:*` tags are present; else None."""
    meta: dict[str, list[str]] = {}
    for tag in page.xpath("//meta[@property or @name][@content]"):
        key = (tag.attrib.get("property") or tag.attrib.get("name") or "").strip().lower()
        meta.setdefault(key, []).append(tag.attrib["content"].strip())

    def first(*keys: str) -> str | None:
        return next((normalise.text(meta[k][0]) for k in keys if meta.get(k) and meta[k][0].strip()), None)

    is_product = (first("og:type") or "").lower().startswith("product") or any(k.startswith("product:") for k in meta)
    if not is_product:
        return None
    price_text = first("product:price:amount", "og:price:amount", "product:sale_price:amount")
    images = meta.get("og:image:secure_url") or meta.get("og:image:url") or meta.get("og:image") or []
    return ProductFacts(
        product_id=first("product:retailer_item_id", "product:sku", "product:retailer_part_no"),
        title=first("og:title"),
        brand=first("product:brand", "og:brand"),
        price=normalise.price(price_text),
        currency=normalise.currency(first("product:price:currency", "og:price:currency"), price_text),
        category=first("product:category"),
        colour=first("product:color", "product:colour"),
        availability=normalise.availability(first("product:availability", "og:availability")),
        description=first("og:description"),
        url=first("og:url"),
        images=[u for u in images if u],
    )
