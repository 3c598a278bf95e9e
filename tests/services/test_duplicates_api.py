"""Near-duplicates over the API: a product whose photos are re-encoded copies of another product's is collapsed into
it by `POST /search`, `POST /search/url` and `GET /products/{key}/similar`, and shown with `collapse=false`; embedded
and on the native cluster's Solr and Milvus server."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.platform import Platform
from snapmode.records import ProductRecord
from snapmode.services.app import create_app
from snapmode.stores.factory import build_stores
from tests.loopback import LoopbackServer, routes_handler
from tests.services.conftest import MAX_IMAGE_BYTES, SITE, Catalog, make_catalog

ORIGINAL, COPY = f"{SITE}:red-disc", f"{SITE}:red-disc-copy"


def reencoded(data: bytes) -> bytes:
    """The same photo at another JPEG quality, slightly smaller: what a second shop selling it would show."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((round(image.width * 0.9), round(image.height * 0.9)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=60)
    return out.getvalue()


@pytest.fixture(scope="module")
def dup_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The test catalog and, indexed after it, a copy of the red disc sold as another product."""
    catalog = make_catalog(tmp_path_factory.mktemp("catalog"))
    original = catalog.records["red-disc"]
    folder = catalog.root / "red-disc-copy"
    folder.mkdir()
    urls = []
    for n, url in enumerate(original.image_urls):
        path = folder / f"{n}.jpg"
        path.write_bytes(reencoded(Path(url.removeprefix("file://")).read_bytes()))
        urls.append(path.as_uri())
    catalog.records["red-disc-copy"] = original.model_copy(update={"product_id": "red-disc-copy",
                                                                   "url": "https://other.example/p/red-disc",
                                                                   "title": "Red disc hat (reseller)",
                                                                   "image_urls": tuple(urls)})
    return catalog


@pytest.fixture(scope="module", params=["embedded", pytest.param("cluster", marks=pytest.mark.integration)])
def dup_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dup_catalog: Catalog,
               embedder: BackboneEmbedder) -> Iterator[TestClient]:
    """The API over milvus-lite and SQLite, then over the Milvus server and Solr of the native cluster."""
    stores: dict[str, object] = {}
    if request.param == "cluster":
        cluster = request.getfixturevalue("native_cluster")
        stores = {"milvus_uri": cluster.milvus_uri, "solr_url": cluster.core_url,
                  "collection": f"dup_{uuid.uuid4().hex[:12]}"}
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), max_image_bytes=MAX_IMAGE_BYTES,  # type: ignore[call-arg]
                        allow_private_urls=True, device="cpu", cache_ttl_s=0, _env_file=None, **stores)
    vectors, metadata = build_stores(settings, embedder.dim)
    if request.param == "cluster":
        metadata._solr.delete(q="*:*", commit=True)  # type: ignore[attr-defined]  # the core is the session's
    platform = Platform(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)
    records: list[ProductRecord] = list(dup_catalog.records.values())  # the copy comes last: the original is first
    platform.runner().run(records)
    try:
        with TestClient(create_app(settings, embedder=embedder)) as client:
            yield client
    finally:
        if request.param == "cluster":
            vectors.client.drop_collection(settings.collection)  # type: ignore[attr-defined]
        platform.close()


def keys(response_json: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["product_key"] for r in response_json["results"]]


def test_the_copy_is_marked_and_nothing_else(dup_client: TestClient) -> None:
    metadata = dup_client.app.state.snapmode.metadata  # type: ignore[attr-defined]
    marks = metadata.duplicate_marks([r["key"] for r in dup_client.get("/products", params={"limit": 50}).json()])
    assert {key: mark for key, mark in marks.items() if mark is not None} == {COPY: ORIGINAL}


def test_search_collapses_the_copy_unless_collapse_is_false(dup_client: TestClient, dup_catalog: Catalog) -> None:
    photo = dup_catalog.held_out["red-disc"]
    collapsed = dup_client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}, data={"k": "7"}).json()
    assert keys(collapsed)[0] == ORIGINAL and COPY not in keys(collapsed) and len(keys(collapsed)) == 6
    assert collapsed["results"][0]["duplicates"] == [COPY] and collapsed["collapse"] is True

    for how in ({"data": {"k": "7", "collapse": "false"}}, {"data": {"k": "7", "collapse": "False"}}):
        shown = dup_client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}, **how).json()
        assert set(keys(shown)[:2]) == {ORIGINAL, COPY} and len(keys(shown)) == 7 and shown["collapse"] is False
        assert all(r["duplicates"] == [] for r in shown["results"])

    # the second page of the collapsed list starts after the original, not at the hidden copy
    second = dup_client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")},
                             data={"k": "1", "offset": "1"}).json()
    assert keys(second) == keys(collapsed)[1:2]


def test_search_url_and_similar_take_collapse(dup_client: TestClient, dup_catalog: Catalog) -> None:
    photo = dup_catalog.held_out["red-disc"]
    with LoopbackServer(routes_handler({"/red.jpg": (200, "image/jpeg", photo, {})})) as server:
        body = {"url": f"{server.base}/red.jpg", "k": 3}
        collapsed = dup_client.post("/search/url", json=body).json()
        shown = dup_client.post("/search/url", json={**body, "collapse": False}).json()
    assert keys(collapsed)[0] == ORIGINAL and COPY not in keys(collapsed)
    assert collapsed["results"][0]["duplicates"] == [COPY]
    assert set(keys(shown)[:2]) == {ORIGINAL, COPY}



def test_similar_collapses_the_copy_under_an_original_ranked_above_it(dup_client: TestClient,
                                                                       dup_catalog: Catalog) -> None:
    collapsed_somewhere = False
    for pid in sorted(dup_catalog.records):
        if f"{SITE}:{pid}" in (ORIGINAL, COPY):
            continue
        url = f"/products/{SITE}:{pid}/similar"
        shown = keys(dup_client.get(url, params={"k": 10, "collapse": "false"}).json())
        collapsed = dup_client.get(url, params={"k": 10}).json()
        if shown.index(ORIGINAL) < shown.index(COPY):  # the copy joins its original
            assert keys(collapsed) == [key for key in shown if key != COPY]
            assert next(r for r in collapsed["results"] if r["product_key"] == ORIGINAL)["duplicates"] == [COPY]
            collapsed_somewhere = True
        else:  # ranked above its original, the copy hides nothing and is hidden by nothing
            assert keys(collapsed) == shown
    assert collapsed_somewhere
    # more like the original: the copy is its nearest product, shown, the original itself being left out
    assert keys(dup_client.get(f"/products/{ORIGINAL}/similar", params={"k": 1}).json()) == [COPY]
    assert keys(dup_client.get(f"/products/{COPY}/similar", params={"k": 1}).json()) == [ORIGINAL]


def test_openapi_shows_collapse_and_duplicates(dup_client: TestClient) -> None:
    schema = dup_client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "duplicates" in components["ApiResult"]["properties"]
    assert "collapse" in components["UrlQuery"]["properties"]
    similar = schema["paths"]["/products/{key}/similar"]["get"]["parameters"]
    assert "collapse" in {p["name"] for p in similar}
    assert "collapse" in components["SearchForm"]["properties"]
