"""Facets, more like this, words with a photo and pages through the API on the real Solr and Milvus server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.platform import Platform
from snapmode.stores.factory import build_stores
from tests.cluster import NativeCluster
from tests.services.conftest import MAX_IMAGE_BYTES, PRODUCTS, SITE, VIEWS, Catalog
from tests.services.fuzz import fuzz

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster_client(native_cluster: NativeCluster, catalog: Catalog, embedder: BackboneEmbedder,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from snapmode.services.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("cluster-api"),  # type: ignore[call-arg]
                        milvus_uri=native_cluster.milvus_uri, solr_url=native_cluster.core_url, collection=f"api_{uuid.uuid4().hex[:12]}",
                        max_image_bytes=MAX_IMAGE_BYTES, allow_private_urls=True, device="cpu", _env_file=None)
    vectors, metadata = build_stores(settings, embedder.dim)
    metadata._solr.delete(q="*:*", commit=True)  # type: ignore[attr-defined]
    platform = Platform(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)
    report = platform.runner().run(catalog.records.values())
    assert report.images_indexed == len(PRODUCTS) * (VIEWS - 1)
    try:
        with TestClient(create_app(settings, embedder=embedder)) as client:
            yield client
    finally:
        vectors.client.drop_collection(settings.collection)  # type: ignore[attr-defined]
        platform.close()


def test_facets_from_solr(cluster_client: TestClient) -> None:
    body = cluster_client.get("/facets").json()
    assert body["total"] == len(PRODUCTS) and body["categories"][0] == {"value": "hat", "count": 2}
    assert (body["price_min"], body["price_max"]) == (18.0, 25.0)
    assert cluster_client.get("/facets", params={"colour": "red"}).json()["total"] == 1


def test_similar_from_the_milvus_server(cluster_client: TestClient) -> None:
    body = cluster_client.get(f"/products/{SITE}:red-disc/similar", params={"k": 3}).json()
    keys = [r["product_key"] for r in body["results"]]
    assert len(keys) == 3 and f"{SITE}:red-disc" not in keys
    assert cluster_client.get(f"/products/{SITE}:nothing/similar").status_code == 404


def test_words_with_a_photo_and_pages(cluster_client: TestClient, catalog: Catalog) -> None:
    photo = catalog.held_out["red-disc"]
    body = cluster_client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")},
                               data={"q": "black", "k": "3"}).json()
    assert body["ranking"] == "hybrid" and body["results"][0]["product_id"] == "black-ring"
    text = cluster_client.post("/search", data={"q": "stripes"}).json()
    assert [r["product_id"] for r in text["results"]] == ["blue-stripes"]
    everything = [p["key"] for p in cluster_client.get("/products", params={"limit": 10}).json()]
    paged = [p["key"] for offset in (0, 3) for p in cluster_client.get("/products", params={"limit": 3,
                                                                                         "offset": offset}).json()]
    assert paged == everything and len(everything) == len(PRODUCTS)


def test_fuzzer_finds_no_failure_on_the_cluster(cluster_client: TestClient, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    report = fuzz(cluster_client.app)
    with capsys.disabled():
        print("\n" + report.summary() + " (native cluster)")
        for line in report.failures + report.errors + report.examples:
            print("  " + line.replace("\n", "\n    "))
    assert report.cases > 0
    assert not report.failures and not report.errors, report.summary()
