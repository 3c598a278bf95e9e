"""API keys (`SNAPMODE_API_KEYS`) and the cap on searches in flight, on the real app and stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.services.app import create_app
from tests.services.conftest import Catalog

KEY = "k3y-for-tests-0123456789"


@pytest.fixture(scope="module")
def keyed(api_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"api_keys": [KEY, "another-key-0123456789"]})
    with TestClient(create_app(settings, embedder=embedder)) as client:
        yield client


def search(client: TestClient, data: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/search", files={"file": ("q.jpg", data, "image/jpeg")}, headers=headers)


def test_with_keys_set_the_api_needs_one(keyed: TestClient, catalog: Catalog) -> None:
    query = catalog.held_out["red-disc"]
    refused = search(keyed, query)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "ApiKey"
    assert search(keyed, query, **{"X-API-Key": "wrong-key-0123456789"}).status_code == 401
    assert search(keyed, query, **{"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/products", params={"q": "disc"}).status_code == 401
    assert keyed.get("/products", params={"q": "disc"}, headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/metrics").status_code == 401


def test_the_page_and_health_stay_open(keyed: TestClient) -> None:
    assert keyed.get("/").status_code == 200 and keyed.get("/healthz").status_code == 200
    assert "X-API-Key" in keyed.get("/static/app.js").text  # the page asks for a key on 401


@pytest.mark.parametrize("keys", ["short", "changeme", "a" * 20 + ",secret"])
def test_weak_keys_are_refused_at_start(keys: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPMODE_API_KEYS", keys)
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_keys_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPMODE_API_KEYS", f" {KEY} ,another-key-0123456789")
    assert Settings(_env_file=None).api_keys == [KEY, "another-key-0123456789"]  # type: ignore[call-arg]


def test_searches_beyond_the_cap_are_shed_with_retry_after(client: TestClient, catalog: Catalog) -> None:
    slots = client.app.state.search_slots  # type: ignore[attr-defined]
    slots.in_flight = slots.limit  # as many searches as allowed are running
    try:
        shed = search(client, catalog.held_out["red-disc"])
    finally:
        slots.in_flight = 0
    assert shed.status_code == 503 and shed.headers["Retry-After"] == "2"
    answered = search(client, catalog.held_out["red-disc"])
    assert answered.status_code == 200 and slots.in_flight == 0  # the slot is given back after each request
    assert search(client, b"not an image").status_code == 415 and slots.in_flight == 0  # also after an error
