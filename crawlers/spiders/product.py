"""The generic product spider: sitemaps and listing pages lead to product pages, each read by `extract_product`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal
from urllib.parse import urlparse
from xml.parsers import expat

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
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
        # The sitemap read of this crawl: it is complete when every sitemap requested was parsed and none failed
        self.sitemaps_requested: set[str] = set()
        self.sitemaps_read: set[str] = set()
        self.sitemap_failed = False
        self.listed: set[str] = set()  # product page URLs the sitemaps list
        self.live: set[str] = set()  # page URLs that yielded a product in this crawl
        self._absence_checked = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProductSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider  # type: ignore[return-value]

    async def start(self) -> AsyncIterator[Request]:
        for url in self.site.sitemap_urls:
            yield self._sitemap_request(url)
        for url in self.site.start_urls:
            yield Request(url, callback=self.parse, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            try:
                body = gunzip(body, max_size=limit)  # stops inflating at the limit: no sitemap bomb
            except ValueError:  # Scrapy's size error
                self.problem("too_large", response.url, f"inflates past {limit} bytes")
                self.sitemap_failed = True
                return
            except (OSError, EOFError) as exc:
                self.problem("bad_sitemap", response.url, repr(exc))
                self.sitemap_failed = True
                return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # noqa: BLE001 - lxml raises several kinds on broken XML
            self.problem("bad_sitemap", response.url, repr(exc))
            self.sitemap_failed = True
            return
        self.crawler.stats.inc_value("snapmode/sitemaps")
        if well_formed(body):
            asked = response.request.meta.get("sitemap_url") if response.request is not None else None
            self.sitemaps_read.add(asked or response.url)
        else:  # Scrapy's parser recovers what it can: its pages are crawled, but the read is partial
            self.problem("partial_sitemap", response.url, "malformed XML", level="warning")
            self.sitemap_failed = True
        nested = sitemap.type == "sitemapindex"
        for entry in sitemap:
            url = entry.get("loc", "").strip()
            if not url or not self._on_site(url):
                continue
            if nested:
                yield self._sitemap_request(url)
            else:
                page = strip_query(url, self.strip_params)
                self.listed.add(page)
                yield Request(page, callback=self.parse, errback=self.on_error)

    def _sitemap_request(self, url: str) -> Request:
        self.sitemaps_requested.add(url)
        return Request(url, callback=self.parse_sitemap, errback=self.on_error,
                       meta={"sitemap": True, "sitemap_url": url})  # the URL asked for, whatever redirects follow

    @property
    def sitemap_complete(self) -> bool:
        """Every sitemap (and nested sitemap) asked for was read; only then can a missing page count as absent."""
        return (bool(self.sitemaps_requested) and not self.sitemap_failed
                and self.sitemaps_requested <= self.sitemaps_read)

    def on_idle(self) -> None:
        """Once, when the crawl has nothing left to do: tombstones for the pages gone from the sitemap long enough.
        A crawl cut short (page limit, shutdown) closes without going idle, so it counts nothing."""
        absence = self.wiring.absence if self.wiring is not None else None
        if self._absence_checked or absence is None:
            return
        self._absence_checked = True
        tombstones = absence.end_of_crawl(self.listed, complete=self.sitemap_complete,
                                          product_at=self.wiring.hashes.product_at, live=self.live)
        for tombstone in tombstones:  # through the item pipelines, like the 404/410 tombstones; each is counted as
            # being processed at once, before the engine checks for idleness again
            deferred_from_coro(self.crawler.engine.scraper.start_itemproc_async(tombstone, response=None))
        if tombstones:
            raise DontCloseSpider

    def parse(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        if not isinstance(response, HtmlResponse):
            kind = response.headers.get("Content-Type", b"").decode("latin-1") or type(response).__name__
            self.problem("non_html", response.url, f"content type {kind}")
            return
        self.crawler.stats.inc_value("snapmode/pages")
        found = extract_product(response.selector, response.url, site=self.site.name,
                                selectors=self.site.selectors, strip_params=self.strip_params)
        for reason, detail in found.problems:
            level = "error" if reason == "malformed_jsonld" and found.fields is None else "warning"
            self.problem(reason, response.url, detail, level=level)
        if found.fields is not None:
            self.crawler.stats.inc_value("snapmode/products/found")
            self.live.add(response.url)
            if response.request is not None:  # the pages asked for, through any redirects
                asked = [response.request.url, *response.request.meta.get("redirect_urls", [])]
                self.live.update(strip_query(u, self.strip_params) for u in asked)
            yield found.fields
        for link in self.links.extract_links(response):
            if self._on_site(link.url):
                yield Request(strip_query(link.url, self.strip_params), callback=self.parse,
                              errback=self.on_error)

    def on_error(self, failure: Failure) -> Iterator[Tombstone]:
        """Every failed request is counted under a reason; robots.txt and offsite refusals have Scrapy's own stats.
        A page that answers 404 or 410 where a product was found before yields that product's tombstone."""
        request = failure.request  # type: ignore[attr-defined]
        if request.meta.get("sitemap"):
            self.sitemap_failed = True  # this crawl's sitemap read is partial: absence is not counted
        if failure.check(HttpError):
            status = failure.value.response.status
            if request.meta.get("sitemap") and status == 404:
                self.problem("no_sitemap", request.url, "HTTP 404", level="warning")
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
        self.problem(reason, request.url, detail)

    def problem(self, reason: str, url: str, detail: str = "", level: Literal["error", "warning"] = "error") -> None:
        """Count and log a problem of a request or page; an error is also signalled as a refusal (`REFUSED`)."""
        problems.report(self.crawler.stats, reason, url, detail, level=level)
        if level == "error":
            self.crawler.signals.send_catch_log(problems.REFUSED, reason=reason, url=url)

    def _on_site(self, url: str) -> bool:
        """On an allowed domain or its subdomains, whatever the port; a URL elsewhere is counted as filtered offsite,
        like the requests that Scrapy's offsite middleware stops (redirects off the site)."""
        host = urlparse(url).hostname or ""
        if any(host == d or host.endswith("." + d) for d in self.allowed_domains):
            return True
        self.crawler.stats.inc_value("offsite/filtered")
        return False


def well_formed(body: bytes) -> bool:
    """Whether a sitemap parses strictly to its end (no tree is built): a truncated or damaged one does not."""
    try:
        expat.ParserCreate().Parse(body, True)
    except expat.ExpatError:
        return False
    return True
