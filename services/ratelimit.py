"""A per-client rate limit (`SNAPMODE_RATE_LIMIT`), kept by the `limits` library: one more request than allowed is
refused with 429 and `Retry-After`. The client is its API key when keys are set, else the peer address."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from snapmode.config import Settings
from snapmode.logs import get_logger
from snapmode.services.access import api_key_header, require_api_key
from snapmode.services.deps import SettingsDep

log = get_logger(__name__)


class RateLimited(Exception):
    """A client past its limit; `retry_after_s` is when its oldest counted request leaves the window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"rate limit exceeded, retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ClientRateLimit:
    """Every limit of `spec` ("10/second;1000/hour") over a moving window, per client, counted in `storage` (this
    process's memory by default). A storage that fails is logged and lets the request through."""

    def __init__(self, spec: str, storage: Storage | None = None) -> None:
        self.items: list[RateLimitItem] = parse_many(spec)
        self.limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientRateLimit | None:
        """`SNAPMODE_RATE_LIMIT` (None when unset), counted in Redis when `redis_url` is set: every API process shares
        the counts."""
        if not settings.rate_limit:
            return None
        return cls(settings.rate_limit, counts_storage(settings.redis_url, password=settings.redis_secret))

    def hit(self, client: str) -> None:
        """Count one request of `client`, or raise `RateLimited` (and count nothing) when any limit is used up."""
        try:
            retry_after_s = self._count(client)
        except StorageError as exc:
            log.warning("api.rate_limit_unavailable", client=client, error=str(exc))
            return
        if retry_after_s is not None:
            raise RateLimited(retry_after_s)

    def _count(self, client: str) -> int | None:
        """Count the request and return None, or return the seconds until the fullest limit has room again."""
        full = [item for item in self.items if not self.limiter.test(item, client)]
        if not full:
            for item in self.items:
                self.limiter.hit(item, client)
            return None
        reset = max(self.limiter.get_window_stats(item, client).reset_time for item in full)
        return max(1, math.ceil(reset - time.time()))


def counts_storage(redis_url: str | None, *, password: str | None = None, timeout_s: float = 0.5) -> Storage:
    """Where the counts live: Redis at `redis_url` (connected as the result cache connects), else process memory."""
    if not redis_url:
        return MemoryStorage()
    return RedisStorage(redis_url, wrap_exceptions=True, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                        **({"password": password} if password else {}))


def client_of(request: Request, key: str | None, keyed: bool) -> str:
    """Who is asking: a digest of its API key when keys are required (it has been checked), else its address.
    Forwarded-for headers are not trusted: behind a proxy, every client is the proxy."""
    if keyed and key is not None:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return "addr:" + (request.client.host if request.client else "unknown")


def rate_limit(request: Request, settings: SettingsDep, key: Annotated[str | None, Depends(api_key_header)],
               _: Annotated[None, Depends(require_api_key)]) -> None:
    """The app's `ClientRateLimit`, after the API key check; nothing when `SNAPMODE_RATE_LIMIT` is unset."""
    limit: ClientRateLimit | None = request.app.state.rate_limit
    if limit is None:
        return
    client = client_of(request, key, bool(settings.api_keys))
    try:
        limit.hit(client)
    except RateLimited as exc:
        log.info("api.rate_limited", client=client, path=request.url.path, retry_after_s=exc.retry_after_s)
        raise


RateLimitDep = Depends(rate_limit)
