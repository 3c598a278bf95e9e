"""A small cache of serialised search results: Redis when configured, an in-process LRU otherwise."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Protocol, TypeVar

import redis
from cachetools import TTLCache

from snapmode.interfaces import SearchFilter
from snapmode.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")


class ResultCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    def clear(self) -> None:
        """Forget every cached result (a product was deleted: no answer may show it again)."""
        ...


KEY_PREFIX = "snapmode:search:"


def cache_key(embedder: str, data: bytes, k: int, where: SearchFilter | None, *, offset: int = 0,
              text: str | None = None, collapse: bool = True, box: str | None = None) -> str:
    """Key of one query: the embedder, a hash of the image bytes, `k`, the filter, the page start, the words,
    whether near-duplicates are collapsed and the photo's region."""
    digest = hashlib.sha256(data).hexdigest()
    extra = {**({"offset": offset} if offset else {}), **({"q": text} if text else {}),
             **({} if collapse else {"collapse": False}), **({"bbox": box} if box else {})}
    fields = json.dumps({**(asdict(where) if where else {}), **extra}, sort_keys=True)
    return f"{KEY_PREFIX}{embedder}:{digest}:{k}:{hashlib.sha1(fields.encode()).hexdigest()[:16]}"


class MemoryCache:
    """A thread-safe LRU with a time to live, for a single API process."""

    def __init__(self, *, max_items: int = 1024, ttl_s: float = 300.0) -> None:
        self._items: TTLCache[str, bytes] = TTLCache(maxsize=max_items, ttl=ttl_s)
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._items.get(key)

    def set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._items[key] = value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def redis_client(url: str, *, password: str | None, timeout_s: float) -> redis.Redis:
    """A Redis client whose every call gives up after `timeout_s` (the API never waits long on its cache)."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                **({"password": password} if password else {}))


class RedisCache:
    """Results shared by every API process through Redis. A Redis failure is logged and counts as a miss."""

    def __init__(self, url: str, *, ttl_s: int = 300, timeout_s: float = 0.5, password: str | None = None) -> None:
        self.ttl_s = ttl_s
        self.client = redis_client(url, password=password, timeout_s=timeout_s)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)  # type: ignore[return-value]
        except redis.RedisError as exc:
            log.warning("cache.unavailable", op="get", error=str(exc))
            return None

    def set(self, key: str, value: bytes) -> None:
        try:
            self.client.set(key, value, ex=self.ttl_s)
        except redis.RedisError as exc:
            log.warning("cache.unavailable", op="set", error=str(exc))

    def clear(self) -> None:
        try:
            for chunk in _chunks(self.client.scan_iter(match=KEY_PREFIX + "*", count=500), 500):
                self.client.unlink(*chunk)
        except redis.RedisError as exc:
            log.warning("cache.unavailable", op="clear", error=str(exc))

    def close(self) -> None:
        self.client.close()


class NoCache:
    def get(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, value: bytes) -> None:
        pass

    def clear(self) -> None:
        pass


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def build_cache(*, redis_url: str | None, ttl_s: int, max_items: int, redis_password: str | None = None
                ) -> ResultCache:
    if ttl_s == 0:
        return NoCache()
    if redis_url:
        return RedisCache(redis_url, ttl_s=ttl_s, password=redis_password)
    return MemoryCache(max_items=max_items, ttl_s=ttl_s)
