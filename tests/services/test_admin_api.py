"""`DELETE /products/{key}` behind `SNAPMODE_ADMIN_KEYS`: the product leaves both stores and every search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.platform import Platform
from snapmode.services.app import create_app
from snapmode.stores.factory import build_stores
from tests.services.conftest import SITE, Catalog

ADMIN = "admin-key-for-tests-0123456789"
API = "user-key-for-tests-0123456789"  # an API key, not an admin one
KEPT = ("blue-stripes", "green-checks")


@pytest.fixture(scope="module")
def admin_settings(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog,
                   embedder: BackboneEmbedder) -> Settings:
    """Its own data dir (the test deletes), holding three products of the catalog."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("admin"), allow_private_urls=True, device="cpu",  # type: ignore[call-arg]
                        _env_file=None)
    vectors, metadata = build_stores(settings, embedder.dim)
    platform = Platform(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)
    platform.runner().run([catalog.records[pid] for pid in ("red-disc", *KEPT)])
    platform.close()
    return settings


@pytest.fixture(scope="module")
def admin(admin_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    with TestClient(create_app(admin_settings.model_copy(update={"admin_keys": [ADMIN]}), embedder=embedder)) as c:
        yield c


def found(client: TestClient, photo: bytes, *, cached: bool = False) -> set[str]:
    answer = client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}, data={"k": "10"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["cached"] is cached
    return {r["product_key"] for r in answer.json()["results"]}


def test_admin_routes_are_off_without_admin_keys(admin_settings: Settings, embedder: BackboneEmbedder) -> None:
    with TestClient(create_app(admin_settings, embedder=embedder)) as client:
        answer = client.delete(f"/products/{SITE}:red-disc", headers={"X-Admin-Key": ADMIN})
    assert answer.status_code == 403 and "SNAPMODE_ADMIN_KEYS" in answer.json()["detail"]


def test_an_api_key_is_not_an_admin_key(admin_settings: Settings, embedder: BackboneEmbedder) -> None:
    keys = {"api_keys": [API], "admin_keys": [ADMIN]}
    with TestClient(create_app(admin_settings.model_copy(update=keys), embedder=embedder)) as client:
        as_user = client.delete(f"/products/{SITE}:red-disc", headers={"X-API-Key": API})
        api_key_as_admin = client.delete(f"/products/{SITE}:red-disc", headers={"X-Admin-Key": API})
        kept = client.get(f"/products/{SITE}:red-disc", headers={"X-API-Key": API})
    assert as_user.status_code == 401 and as_user.headers["WWW-Authenticate"] == "AdminKey"
    assert api_key_as_admin.status_code == 401
    assert kept.status_code == 200  # nothing was deleted


def test_delete_needs_an_admin_key(admin: TestClient) -> None:
    assert admin.delete(f"/products/{SITE}:red-disc").status_code == 401
    assert admin.delete(f"/products/{SITE}:red-disc", headers={"X-Admin-Key": "wrong-0123456789abcdef"}
                        ).status_code == 401
    assert admin.get(f"/products/{SITE}:red-disc").status_code == 200  # nothing was deleted


def test_a_deleted_product_leaves_both_stores_and_search(admin: TestClient, catalog: Catalog) -> None:
    key = f"{SITE}:red-disc"
    assert key in found(admin, catalog.held_out["red-disc"])
    assert key in found(admin, catalog.held_out["red-disc"], cached=True)

    answer = admin.delete(f"/products/{key}", headers={"X-Admin-Key": ADMIN})

    assert answer.status_code == 200 and answer.json() | {"at": None} == {"key": key, "deleted": True,
                                                                         "existed": True, "at": None}
    assert admin.get(f"/products/{key}").status_code == 404
    assert found(admin, catalog.held_out["red-disc"]) == {f"{SITE}:{pid}" for pid in KEPT}  # the cache forgot it
    assert admin.app.state.snapmode.vectors.images_of([key]) == {}  # type: ignore[attr-defined]
    again = admin.delete(f"/products/{key}", headers={"X-Admin-Key": ADMIN}).json()
    assert again["deleted"] is True and again["existed"] is False
    assert admin.delete("/products/no-site-here", headers={"X-Admin-Key": ADMIN}).status_code == 422
