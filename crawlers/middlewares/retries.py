"""Retries that wait, site by site: a 429 or 503 that says `Retry-After` holds the whole site that long (capped);
any other retryable failure holds it for a delay that doubles per try of the request. Scrapy's own retries go out
again at once, which is what an overloaded shop least wants.

The wait is the site's download slot delay: every request to the site, the retry included, waits it out. The first
answer that is not a failure once the wait is over gives the slot back its own delay (or AutoThrottle's); an answer to
a request sent before the hold, arriving during it, does not shorten it."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

from snapmode.logs import get_logger

log = get_logger(__name__)


def retry_after_s(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delay seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class PoliteRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.first_delay_s = settings.getfloat("SNAPMODE_RETRY_FIRST_DELAY_S", 1.0)
        self.max_delay_s = settings.getfloat("SNAPMODE_RETRY_MAX_DELAY_S", 120.0)
        self.held: dict[str, tuple[float, float]] = {}  # slot key -> its delay and jitter before it was held
        self.held_until: dict[str, float] = {}  # slot key -> when its hold ends (the downloader's monotonic clock)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            if response.status < 400:
                self._release(request)
            return response
        asked = retry_after_s(response.headers.get(b"Retry-After")) if response.status in (429, 503) else None
        retry = self._retry(request, f"{response.status}")
        if retry is not None:
            self._hold(request, self._delay(request, asked), response.status)
        return retry or response

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> Request | None:
        retry = super().process_exception(request, exception)
        if retry is not None:
            self._hold(request, self._delay(request, None), type(exception).__name__)
        return retry

    def _delay(self, request: Request, asked: float | None) -> float:
        tries = request.meta.get("retry_times", 0)
        delay = asked if asked is not None else self.first_delay_s * 2 ** tries
        return min(delay, self.max_delay_s)

    def _hold(self, request: Request, delay: float, why: object) -> None:
        """Make every request to the request's site wait `delay` from now, the retry first among them."""
        key = request.meta.get("download_slot")
        slot = self.crawler.engine.downloader.slots.get(key) if key else None
        if slot is None or delay <= 0:
            return
        self.held.setdefault(key, (slot.delay, slot.jitter))
        slot.delay, slot.jitter = max(slot.delay, delay), 0.0  # no randomising while held: the wait is what was asked
        slot.lastseen = time.monotonic()  # the downloader's clock
        self.held_until[key] = max(self.held_until.get(key, 0.0), slot.lastseen + delay)
        log.info("crawl.retry_held", site=key, delay_s=round(delay, 2), reason=str(why), url=request.url)

    def _release(self, request: Request) -> None:
        key = request.meta.get("download_slot")
        if key in self.held and time.monotonic() >= self.held_until.get(key, 0.0):
            del self.held_until[key]
            slot = self.crawler.engine.downloader.slots.get(key)
            delay, jitter = self.held.pop(key)
            if slot is not None:
                slot.delay, slot.jitter = min(slot.delay, delay), jitter
