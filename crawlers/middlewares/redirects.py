"""Follow redirects up to a limit and stop a loop at its first repeat, each with its own reason."""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest


class RedirectRefused(IgnoreRequest):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BoundedRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirect middleware (limit: `REDIRECT_MAX_TIMES`), plus loop detection.

    A loop is a redirect back to a URL already in this request's chain; without detection the duplicate filter
    would drop the repeat silently and the page would vanish without a reason.
    """

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            raise RedirectRefused("redirect_loop", f"redirect loop: {' -> '.join([*chain, redirected.url])}")
        if request.meta.get("redirect_times", 0) + 1 > self.max_redirect_times:
            raise RedirectRefused("too_many_redirects", f"more than {self.max_redirect_times} redirects from {chain[0]}")
        return super()._redirect(redirected, request, reason)
