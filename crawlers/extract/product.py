"""One page in, at most one product out: site selectors first, then JSON-LD, microdata and OpenGraph fill the gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse, urlunparse

from parsel import Selector

from snapmode.crawlers.extract import normalise
from snapmode.crawlers.extract.facts import ProductFacts
from snapmode.crawlers.extract.images import image_urls
from snapmode.crawlers.extract.jsonld import extract_jsonld
from snapmode.crawlers.extract.microdata import extract_microdata
from snapmode.crawlers.extract.opengraph import extract_opengraph
from snapmode.crawlers.siteconfig import Selectors

_CATEGORY_SPLIT = re.compile(r"\s*(?:>|/|»|›|\|)\s*")


@dataclass
class PageProduct:
    """The record fields found on a page (None when the page shows no product) and what was wrong with it."""

    fields: dict[str, Any] | None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)


def extract_product(page: Selector, url: str, *, site: str, selectors: Selectors | None = None,
                    strip_params: tuple[str, ...] = ()) -> PageProduct:
    """The product on the page at `url`, as `ProductRecord` fields (not validated yet)."""
    problems: list[tuple[str, str]] = []
    jsonld = extract_jsonld(page)
    if jsonld.malformed:
        problems.append(("malformed_jsonld", f"{jsonld.malformed} JSON-LD block(s) could not be parsed"))
    micro, micro_crumbs = extract_microdata(page)
    facts = from_selectors(page, url, selectors) if selectors else ProductFacts()
    for found in (_pick(jsonld.products, url), _pick(micro, url), extract_opengraph(page)):
        if found is not None:
            facts = facts.complete_with(found)
    if not facts.found:
        return PageProduct(None, problems)

    page_url = canonical_url(page, url, strip_params)
    crumbs = jsonld.breadcrumbs or micro_crumbs
    if selectors and selectors.category:
        category = facts.category
    else:
        category = _leaf(crumbs, facts.title) or facts.category
    fields = {
        "site": site,
        "product_id": facts.product_id or id_from_url(page_url),
        "url": page_url,
        "title": facts.title,
        "brand": facts.brand,
        "category": _leaf([category], None) if category else None,
        "colour": facts.colour,
        "price": facts.price,
        "currency": facts.currency,
        "availability": facts.availability,
        "description": facts.description[:5000] if facts.description else None,
        "image_urls": [u for u in dict.fromkeys(urljoin(url, i) for i in facts.images)
                       if u.startswith(("http://", "https://"))],
    }
    if facts.price is None:
        problems.append(("no_price", "product has no price"))
    return PageProduct(fields, problems)


def from_selectors(page: Selector, url: str, selectors: Selectors) -> ProductFacts:
    """Facts from the site's own selectors; a selector that matches nothing leaves its field empty."""
    values = {name: select_text(page, sel) for name, sel in selectors.model_dump().items()
              if sel and name != "images"}
    price_text = values.get("price")
    return ProductFacts(
        product_id=values.get("product_id"), title=values.get("title"), brand=values.get("brand"),
        price=normalise.price(price_text), currency=normalise.currency(values.get("currency"), price_text),
        category=values.get("category"), colour=values.get("colour"),
        availability=normalise.availability(values.get("availability")), description=values.get("description"),
        images=image_urls(_select(page, selectors.images), url) if selectors.images else [],
    )


def select_text(page: Selector, selector: str) -> str | None:
    """The first match's text: an attribute or text node as is, an element's `content`/`value` or its text."""
    for match in _select(page, selector):
        if isinstance(match.root, str):
            value = normalise.text(match.root)
        else:
            value = normalise.text(match.attrib.get("content") or match.attrib.get("value")
                                   or match.xpath("normalize-space(.)").get())
        if value:
            return value
    return None


def _select(page: Selector, selector: str) -> list[Selector]:
    return list(page.xpath(selector) if selector.startswith(("/", "(")) else page.css(selector))


def _pick(products: list[ProductFacts], url: str) -> ProductFacts | None:
    """The product the page is about: the one whose `url` is the page, else the first."""
    path = urlparse(url).path
    return next((p for p in products if p.url and urlparse(urljoin(url, p.url)).path == path),
                products[0] if products else None)


def _leaf(crumbs: list[str], title: str | None) -> str | None:
    """The most specific category: the last breadcrumb that is not the product itself ("A > B > C" gives C)."""
    names = [n for c in crumbs for n in _CATEGORY_SPLIT.split(c) if n]
    if names and title and names[-1].casefold() == title.casefold():
        names = names[:-1]
    names = [n for n in names if n.casefold() not in ("home", "start", "shop")]
    return names[-1][:200] if names else None


def canonical_url(page: Selector, url: str, strip_params: tuple[str, ...] = ()) -> str:
    """`<link rel=canonical>` when it stays on the same host, else `url`; tracking parameters removed."""
    href = page.xpath('//link[@rel="canonical"]/@href').get()
    candidate = urljoin(url, href.strip()) if href else url
    if urlparse(candidate).hostname != urlparse(url).hostname:
        candidate = url
    return strip_query(candidate, strip_params)


def strip_query(url: str, params: tuple[str, ...]) -> str:
    parsed = urlparse(url)
    if not parsed.query or not params:
        return urlunparse(parsed._replace(fragment=""))
    kept = [(k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k not in params]
    return urlunparse(parsed._replace(query=urlencode(kept), fragment=""))


def id_from_url(url: str) -> str:
    """A product id when the page gives none: the last path segment without its extension."""
    path = PurePosixPath(urlparse(url).path)
    return (path.stem or path.parent.name or urlparse(url).netloc)[:200]
