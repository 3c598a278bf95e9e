"""schema.org Product and BreadcrumbList from `<script type="application/ld+json">` blocks, forgiving common typos."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from snapmode.crawlers.extract import normalise
from snapmode.crawlers.extract.facts import ProductFacts

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(r"^\s*(<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(-->|//\s*\]\]>|\]\]>)\s*$")


@dataclass
class JsonLdResult:
    products: list[ProductFacts] = field(default_factory=list)
    breadcrumbs: list[str] = field(default_factory=list)
    malformed: int = 0  # blocks that could not be parsed even after repair


def parse_block(raw: str) -> Any:
    """The JSON in one block; repairs HTML comment wrappers, trailing commas and raw newlines in strings."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        repaired = _TRAILING_COMMA.sub(r"\1", _WRAPPERS.sub("", raw.strip()))
        return json.loads(repaired, strict=False)


def extract_jsonld(page: Selector) -> JsonLdResult:
    result = JsonLdResult()
    for raw in page.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = parse_block(raw)
        except (json.JSONDecodeError, RecursionError):
            result.malformed += 1
            continue
        for entity in _entities(data):
            kinds = _types(entity)
            if kinds & {"Product", "ProductGroup", "IndividualProduct", "ProductModel"}:
                result.products.append(_product(entity))
            elif "BreadcrumbList" in kinds and not result.breadcrumbs:
                result.breadcrumbs = breadcrumb_names(entity)
    return result


def _entities(data: Any) -> Iterator[dict[str, Any]]:
    """Top-level entities: the block itself, its `@graph`, and a page's `mainEntity` (not nested related items)."""
    if isinstance(data, list):
        for item in data:
            yield from _entities(item)
    elif isinstance(data, dict):
        if "@graph" in data:
            yield from _entities(data["@graph"])
        if "mainEntity" in data:
            yield from _entities(data["mainEntity"])
        yield data


def _types(entity: dict[str, Any]) -> set[str]:
    kind = entity.get("@type") or []
    names = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in names}


def _product(entity: dict[str, Any]) -> ProductFacts:
    offer = _first_offer(entity.get("offers"))
    variants = [v for v in normalise.as_list(entity.get("hasVariant")) if isinstance(v, dict)]
    if not offer and variants:
        offer = _first_offer(variants[0].get("offers"))
    images = _images(entity.get("image")) + [u for v in variants for u in _images(v.get("image"))]
    price_text = offer.get("price") or offer.get("lowPrice") or _spec(offer).get("price")
    return ProductFacts(
        product_id=normalise.text(entity.get("sku") or entity.get("productID") or entity.get("productGroupID")
                                  or entity.get("mpn") or entity.get("gtin13")),
        title=normalise.text(entity.get("name")),
        brand=normalise.text(entity.get("brand") or entity.get("manufacturer")),
        price=normalise.price(price_text),
        currency=normalise.currency(offer.get("priceCurrency") or _spec(offer).get("priceCurrency"), price_text),
        category=normalise.text(entity.get("category")),
        colour=normalise.text(entity.get("color") or entity.get("colour")),
        availability=normalise.availability(offer.get("availability")),
        description=normalise.text(entity.get("description")),
        url=normalise.text(entity.get("url")),
        images=list(dict.fromkeys(images)),
    )


def _first_offer(offers: Any) -> dict[str, Any]:
    for offer in normalise.as_list(offers):
        if isinstance(offer, dict):
            nested = offer.get("offers")  # AggregateOffer listing its offers
            return offer if offer.get("price") or offer.get("lowPrice") or not nested else _first_offer(nested)
    return {}


def _spec(offer: dict[str, Any]) -> dict[str, Any]:
    spec = offer.get("priceSpecification")
    first = normalise.as_list(spec)[0] if spec else {}
    return first if isinstance(first, dict) else {}


def _images(value: Any) -> list[str]:
    urls = []
    for item in normalise.as_list(value):
        if isinstance(item, dict):
            item = item.get("contentUrl") or item.get("url")
        if isinstance(item, str) and item.strip():
            urls.append(item.strip())
    return urls


def breadcrumb_names(entity: dict[str, Any]) -> list[str]:
    items = [i for i in normalise.as_list(entity.get("itemListElement")) if isinstance(i, dict)]
    items.sort(key=normalise.position)
    names = [normalise.text(i.get("name") or (i.get("item") if isinstance(i.get("item"), dict) else None))
             for i in items]
    return [n for n in names if n]
