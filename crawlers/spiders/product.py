"""The generic product spider: sitemaps and listing pages lead to product pages, each read by `extract_product`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlparse

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import ConnectError, DNSLookupError, TimeoutError as TxTimeoutError
from twisted.python.failure import Failure

from snapmode.crawlers import problems
from snapmode.crawlers.extract.product import extract_product, strip_query
from snapmode.crawlers.middlewares.address import AddressRefused
from snapmode.crawlers.middlewares.redirects import RedirectRefused
from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.crawlers.wiring import CrawlWiring
from snapmode.records import Tombstone

GONE = (404, 410)  # a product page answering these is deleted, if a product was sent from it before


class ProductSpider(Spider):
    name = "snapmode-products"

    def __init__(self, site: SiteConfig, wiring: CrawlWiring, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.wiring = wiring
        self.allowed_domains = site.domains
        self.strip_params = tuple(site.strip_query_params)
        self.links = LinkExtractor(allow=site.follow, deny=site.deny, tags=("a", "area", "link"), attrs=("href",))

    async def start(self) -> AsyncIterator[Request]:
        for url in self.site.sitemap_urls:
            yield Request(url, callback=self.parse_sitemap, errback=self.on_error, meta={"sitemap": True})
        for url in self.site.start_urls:
            yield Request(url, callback=self.parse, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            try:
                body = gunzip(body, max_size=limit)  # stops inflating at the limit: no sitemap bomb
            except ValueError:  # Scrapy's size error
                problems.report(self.crawler.stats, "too_large", response.url, f"inflates past {limit} bytes")
                return
            except (OSError, EOFError) as exc:
                problems.report(self.crawler.stats, "bad_sitemap", response.url, repr(exc))
                return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # noqa: BLE001 - lxml raises several kinds on broken XML
            problems.report(self.crawler.stats, "bad_sitemap", response.url, repr(exc))
            return
        self.crawler.stats.inc_value("snapmode/sitemaps")
        nested = sitemap.type == "sitemapindex"
        for entry in sitemap:
            url = entry.get("loc", "").strip()
            if not url or not self._on_site(url):
                continue
            if nested:
                yield Request(url, callback=self.parse_sitemap, errback=self.on_error, meta={"sitemap": True})
            else:
                yield Request(strip_query(url, self.strip_params), callback=self.parse, errback=self.on_error)

    def parse(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if not isinstance(response, HtmlResponse):
            kind = response.headers.get("Content-Type", b"").decode("latin-1") or type(response).__name__
            problems.report(self.crawler.stats, "non_html", response.url, f"content type {kind}")
            return
        self.crawler.stats.inc_value("snapmode/pages")
        found = extract_product(response.selector, response.url, site=self.site.name,
                                selectors=self.site.selectors, strip_params=self.strip_params)
        for reason, detail in found.problems:
            level = "error" if reason == "malformed_jsonld" and found.fields is None else "warning"
            problems.report(self.crawler.stats, reason, response.url, detail, level=level)
        if found.fields is not None:
            self.crawler.stats.inc_value("snapmode/products/found")
            yield found.fields
        for link in self.links.extract_links(response):
            if self._on_site(link.url):
                yield Request(strip_query(link.url, self.strip_params), callback=self.parse,
                              errback=self.on_error)

    def on_error(self, failure: Failure) -> Iterator[Tombstone]:
        """Every failed request is counted under a reason; robots.txt and offsite refusals have Scrapy's own stats.
        A page that answers 404 or 410 where a product was found before yields that product's tombstone."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status
            if request.meta.get("sitemap") and status == 404:
                problems.report(self.crawler.stats, "no_sitemap", request.url, "HTTP 404", level="warning")
                return
            reason, detail = f"http_{status}", f"HTTP {status}"
            if status in GONE and (key := self.wiring.hashes.product_at(request.url)) is not None:
                tombstone = Tombstone.of_key(key, reason=reason)
                yield tombstone.model_copy(update={"url": request.url})
        elif failure.check(AddressRefused):
            reason, detail = failure.value.reason, str(failure.value)
        elif failure.check(RedirectRefused):
            reason, detail = failure.value.reason, str(failure.value)
        elif failure.check(IgnoreRequest):
            return
        elif failure.check(DNSLookupError):
            reason, detail = "dns", str(failure.value)
        elif failure.check(TxTimeoutError):
            reason, detail = "timeout", str(failure.value)
        elif failure.check(ConnectError):
            reason, detail = "connection", str(failure.value)
        else:
            reason, detail = "download_failed", repr(failure.value)
        problems.report(self.crawler.stats, reason, request.url, detail)

    def _on_site(self, url: str) -> bool:
        """On an allowed domain or its subdomains, whatever the port."""
        host = urlparse(url).hostname or ""
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)
