"""Refuse non-http(s) requests, and requests to non-public addresses unless the crawl allows them, on every hop."""

from __future__ import annotations

import threading

from cachetools import TTLCache, cached
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from snapmode.pipeline.addresses import Resolver, checked_addresses
from snapmode.pipeline.errors import ImageRejected


class AddressRefused(IgnoreRequest):
    """A request the crawl may not make; `reason` is `bad_scheme`, `private_address` or `dns`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class AddressPolicyMiddleware:
    """Downloader middleware: redirects and robots.txt requests pass through it too, so no hop escapes the policy.

    A host's verdict is kept for `ttl_s` seconds, so a name that later moves to a private address is caught again.
    """

    def __init__(self, *, allow_private: bool = False, ttl_s: float = 300.0, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        verdicts: TTLCache[tuple[str, int], str | None] = TTLCache(maxsize=4096, ttl=ttl_s)
        self._refusal = cached(verdicts, lock=threading.Lock())(self._check)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressPolicyMiddleware:
        return cls(allow_private=crawler.settings.getbool("SNAPMODE_ALLOW_PRIVATE"),
                   ttl_s=crawler.settings.getfloat("SNAPMODE_ADDRESS_TTL_S", 300.0))

    def process_request(self, request: Request) -> None:
        parsed = urlparse_cached(request)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise AddressRefused("bad_scheme", f"only http(s) URLs are crawled: {request.url[:200]!r}")
        if self.allow_private:
            return
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if detail := self._refusal(parsed.hostname, port):
            raise AddressRefused("private_address", detail)

    def _check(self, host: str, port: int) -> str | None:
        """Why `host` may not be crawled, or None; a name that does not resolve raises (and is not cached)."""
        try:
            checked_addresses(host, port, resolver=self.resolver)
        except ImageRejected as exc:
            if exc.reason != "private_address":
                raise AddressRefused("dns", exc.detail) from exc
            return exc.detail
        return None
