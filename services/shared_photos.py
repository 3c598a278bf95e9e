"""Uploaded query photos kept for a while under a short id, so that a link to a search by photo (the page's address)
shows the same results to whoever opens it while the photo lives: in Redis when configured (every API process sees
it), else in this process's memory, bounded in bytes."""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

import redis
from cachetools import TTLCache

from snapmode.logs import get_logger
from snapmode.services.cache import redis_client

log = get_logger(__name__)
KEY_PREFIX = "snapmode:photo:"


def photo_id(data: bytes) -> str:
    """The id of a photo: a digest of its bytes, so the same upload keeps one id."""
    return hashlib.sha256(data).hexdigest()[:32]


class SharedPhotos(Protocol):
    def keep(self, data: bytes) -> str | None:
        """Keep `data`; its id, or None when photos are not kept."""
        ...

    def get(self, ident: str) -> bytes | None: ...


class MemoryPhotos:
    def __init__(self, *, ttl_s: float, max_bytes: int) -> None:
        self._items: TTLCache[str, bytes] = TTLCache(maxsize=max_bytes, ttl=ttl_s, getsizeof=len)
        self._max = max_bytes
        self._lock = threading.Lock()

    def keep(self, data: bytes) -> str | None:
        if len(data) > self._max:
            return None
        ident = photo_id(data)
        with self._lock:
            self._items[ident] = data
        return ident

    def get(self, ident: str) -> bytes | None:
        with self._lock:
            return self._items.get(ident)


class RedisPhotos:
    """A Redis failure is logged: the photo is then not kept (no id), or not found."""

    def __init__(self, url: str, *, ttl_s: int, password: str | None = None, timeout_s: float = 0.5) -> None:
        self.ttl_s = ttl_s
        self.client = redis_client(url, password=password, timeout_s=timeout_s)

    def keep(self, data: bytes) -> str | None:
        ident = photo_id(data)
        try:
            self.client.set(KEY_PREFIX + ident, data, ex=self.ttl_s)
        except redis.RedisError as exc:
            log.warning("shared_photos.unavailable", op="keep", error=str(exc))
            return None
        return ident

    def get(self, ident: str) -> bytes | None:
        try:
            return self.client.get(KEY_PREFIX + ident)  # type: ignore[return-value]
        except redis.RedisError as exc:
            log.warning("shared_photos.unavailable", op="get", error=str(exc))
            return None

    def close(self) -> None:
        self.client.close()


class NoPhotos:
    def keep(self, data: bytes) -> str | None:
        return None

    def get(self, ident: str) -> bytes | None:
        return None


def build_shared_photos(*, redis_url: str | None, ttl_s: int, max_mb: int, redis_password: str | None = None
                        ) -> SharedPhotos:
    if ttl_s == 0:
        return NoPhotos()
    if redis_url:
        return RedisPhotos(redis_url, ttl_s=ttl_s, password=redis_password)
    return MemoryPhotos(ttl_s=ttl_s, max_bytes=max_mb * 2**20)
