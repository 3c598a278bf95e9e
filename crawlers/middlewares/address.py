"""Refuse requests to private, loopback and link-local addresses, on every hop, unless the crawl allows them."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from snapmode.pipeline.fetch import is_public_host


class AddressRefused(IgnoreRequest):
    """The request's host resolves to an address the crawl may not reach."""


@lru_cache(maxsize=4096)
def _host_is_public(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        return is_public_host(host)


class AddressPolicyMiddleware:
    """Downloader middleware: redirects and robots.txt requests pass through it too, so no hop escapes the policy."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressPolicyMiddleware:
        return cls(allow_private=crawler.settings.getbool("SNAPMODE_ALLOW_PRIVATE"))

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        if self.allow_private or not host or urlparse_cached(request).scheme not in ("http", "https"):
            return
        if not _host_is_public(host):
            raise AddressRefused(f"{host} is a private, loopback or link-local address")
