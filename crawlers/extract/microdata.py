"""schema.org Product and BreadcrumbList written as HTML microdata (`itemscope`/`itemprop`)."""

from __future__ import annotations

from typing import Any

from parsel import Selector

from snapmode.crawlers.extract import normalise
from snapmode.crawlers.extract.facts import ProductFacts
from snapmode.crawlers.extract.images import largest_variant

_URL_TAGS = {"a": "href", "link": "href", "area": "href", "img": "src", "source": "src", "video": "src",
             "audio": "src", "iframe": "src", "embed": "src", "object": "data"}


def extract_microdata(page: Selector) -> tuple[list[ProductFacts], list[str]]:
    """Top-level Product items and the first BreadcrumbList's names."""
    products, breadcrumbs = [], []
    for scope in page.xpath("//*[@itemscope][not(@itemprop)]"):
        kind = (scope.attrib.get("itemtype") or "").rstrip("/").rsplit("/", 1)[-1]
        if kind in ("Product", "ProductGroup", "IndividualProduct"):
            products.append(_product(item(scope)))
        elif kind == "BreadcrumbList" and not breadcrumbs:
            entries = sorted(normalise.as_list(item(scope).get("itemListElement")), key=normalise.position)
            breadcrumbs = [n for n in (normalise.text(e.get("name") if isinstance(e, dict) else e)
                                       for e in entries) if n]
    return products, breadcrumbs


def item(scope: Selector) -> dict[str, Any]:
    """The properties of one item: values, or nested dicts for nested items; repeated properties become lists."""
    depth = len(scope.xpath("ancestor-or-self::*[@itemscope]"))
    props: dict[str, Any] = {}
    for element in scope.xpath(".//*[@itemprop]"):
        if len(element.xpath("ancestor::*[@itemscope]")) != depth:
            continue  # belongs to a nested item
        value = item(element) if "itemscope" in element.attrib else _value(element)
        for name in element.attrib["itemprop"].split():
            props.setdefault(name, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in props.items()}


def _value(element: Selector) -> Any:
    tag = element.root.tag
    if tag == "img" or (tag == "source" and "srcset" in element.attrib):
        return largest_variant(element)
    if "content" in element.attrib:
        return element.attrib["content"]
    if tag in _URL_TAGS:
        return element.attrib.get(_URL_TAGS[tag])
    if tag in ("time",) and "datetime" in element.attrib:
        return element.attrib["datetime"]
    if tag in ("data", "meter") and "value" in element.attrib:
        return element.attrib["value"]
    return " ".join(element.xpath(".//text()").getall())


def _product(props: dict[str, Any]) -> ProductFacts:
    offer = next((o for o in normalise.as_list(props.get("offers")) if isinstance(o, dict)), {})
    price_text = offer.get("price") or offer.get("lowPrice")
    images = [i if isinstance(i, str) else (i.get("contentUrl") or i.get("url"))
              for i in normalise.as_list(props.get("image"))]
    return ProductFacts(
        product_id=normalise.text(props.get("sku") or props.get("productID") or props.get("mpn")),
        title=normalise.text(props.get("name")),
        brand=normalise.text(props.get("brand") or props.get("manufacturer")),
        price=normalise.price(price_text),
        currency=normalise.currency(offer.get("priceCurrency"), price_text),
        category=normalise.text(props.get("category")),
        colour=normalise.text(props.get("color") or props.get("colour")),
        availability=normalise.availability(offer.get("availability")),
        description=normalise.text(props.get("description")),
        url=normalise.text(props.get("url")),
        images=[i.strip() for i in images if isinstance(i, str) and i.strip()],
    )
