"""Services started with credentials from the settings want them, and SnapMode's clients send them: Redis."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from snapmode.config import Settings

pytestmark = pytest.mark.integration


def test_redis_with_a_password(tmp_path: Path, free_port: int) -> None:
    from snapmode.crawlers.run import open_redis
    from snapmode.infra.cluster import Cluster, context_from_settings
    from snapmode.services.cache import build_cache

    password = uuid.uuid4().hex
    settings = Settings(data_dir=tmp_path / "data", cluster_dir=tmp_path / "cluster", redis_port=free_port,
                        redis_password=password, _env_file=None)  # type: ignore[call-arg]
    cluster = Cluster(context_from_settings(settings), start_timeout_s=60)
    cluster.up(["redis"])
    try:
        url = cluster.services["redis"].url
        assert oct((tmp_path / "cluster" / "conf" / "redis" / "redis.conf").stat().st_mode & 0o777) == "0o600"
        cache = build_cache(redis_url=url, ttl_s=30, max_items=1, redis_password=settings.redis_secret)
        cache.set("k", b"v")
        assert cache.get("k") == b"v"
        anonymous = build_cache(redis_url=url, ttl_s=30, max_items=1)
        assert anonymous.get("k") is None  # refused: logged and counted as a miss
        assert open_redis(url, settings.redis_secret).ping()
    finally:
        cluster.down()
