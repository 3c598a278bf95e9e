"""`GET /products/{key}`, `GET /products` and `GET /images/{image_id}` over the indexed catalog."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

from snapmode.records import ProductRecord
from tests.services.conftest import SITE, Catalog


def test_get_product_by_key(client: TestClient, catalog: Catalog) -> None:
    record = catalog.records["yellow-triangle"]
    body = client.get(f"/products/{SITE}:yellow-triangle").json()
    assert body["key"] == record.key and ProductRecord.from_dict(body["record"]) == record
    assert [i["image_id"] for i in body["images"]] == [r.image_id for r in record.images()]


def test_unknown_product_is_404(client: TestClient) -> None:
    response = client.get(f"/products/{SITE}:no-such-thing")
    assert response.status_code == 404 and "site:product_id" in response.json()["detail"]


def test_text_search_and_filters(client: TestClient) -> None:
    titles = [p["record"]["title"] for p in client.get("/products", params={"q": "stripes"}).json()]
    assert titles == ["Blue stripes t-shirt"]
    hats = client.get("/products", params={"category": "hat"}).json()
    assert {p["record"]["product_id"] for p in hats} == {"red-disc", "black-ring"}
    assert len(client.get("/products", params={"limit": 2}).json()) == 2
    assert client.get("/products", params={"limit": 0}).status_code == 422


def test_image_of_a_file_url_is_served(client: TestClient, catalog: Catalog) -> None:
    ref = catalog.records["black-ring"].images()[0]
    response = client.get(f"/images/{ref.image_id}", params={"product": f"{SITE}:black-ring"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == (catalog.root / "black-ring" / "0.jpg").read_bytes()


def test_image_of_an_http_url_is_a_redirect(client: TestClient) -> None:
    record = ProductRecord(site="remote", product_id="r1", url="https://shop.example/r1", title="Remote coat",
                           image_urls=("https://cdn.shop.example/r1.jpg",))
    client.app.state.snapmode.metadata.upsert([record])  # type: ignore[attr-defined]
    ref = record.images()[0]
    response = client.get(f"/images/{ref.image_id}?product={quote(record.key)}", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "https://cdn.shop.example/r1.jpg"
    client.app.state.snapmode.metadata.delete([record.key])  # type: ignore[attr-defined]


def test_unknown_images_are_404(client: TestClient, catalog: Catalog) -> None:
    ref = catalog.records["black-ring"].images()[0]
    assert client.get(f"/images/{ref.image_id}", params={"product": f"{SITE}:red-disc"}).status_code == 404
    assert client.get(f"/images/{ref.image_id}", params={"product": "nope:nope"}).status_code == 404
    assert client.get(f"/images/{ref.image_id}").status_code == 422


def test_files_that_are_not_images_are_never_served(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.jpg"
    secret.write_text("password=hunter2")
    record = ProductRecord(site="local", product_id="x", url="https://shop.example/x", title="Odd",
                           image_urls=(secret.as_uri(),))
    client.app.state.snapmode.metadata.upsert([record])  # type: ignore[attr-defined]
    response = client.get(f"/images/{record.images()[0].image_id}", params={"product": record.key})
    client.app.state.snapmode.metadata.delete([record.key])  # type: ignore[attr-defined]
    assert response.status_code == 404 and "hunter2" not in response.text


def test_product_listing_pages_with_offset(client: TestClient) -> None:
    everything = [p["key"] for p in client.get("/products", params={"limit": 50}).json()]
    pages = [p["key"] for offset in (0, 4) for p in client.get("/products", params={"limit": 4,
                                                                                    "offset": offset}).json()]
    assert pages == everything and len(everything) >= 6
    assert client.get("/products", params={"offset": -1}).status_code == 422


def test_similar_products_from_stored_vectors(client: TestClient, catalog: Catalog) -> None:
    response = client.get(f"/products/{SITE}:red-disc/similar", params={"k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    keys = [r["product_key"] for r in body["results"]]
    assert len(keys) == 3 and f"{SITE}:red-disc" not in keys and body["ranking"] == "image"
    assert all(r["image_path"].startswith("/images/") for r in body["results"])
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    second = client.get(f"/products/{SITE}:red-disc/similar", params={"k": 1, "offset": 1}).json()
    assert [r["product_key"] for r in second["results"]] == keys[1:2] and second["offset"] == 1
    hats = client.get(f"/products/{SITE}:red-disc/similar", params={"category": "hat"}).json()["results"]
    assert [r["product_id"] for r in hats] == ["black-ring"]


def test_similar_refuses_unknown_products_and_bad_paging(client: TestClient) -> None:
    response = client.get(f"/products/{SITE}:no-such-thing/similar")
    assert response.status_code == 404 and "no product" in response.json()["detail"]
    assert client.get(f"/products/{SITE}:red-disc/similar", params={"k": 0}).status_code == 422
    assert client.get(f"/products/{SITE}:red-disc/similar", params={"offset": 5000}).status_code == 422
    assert client.get(f"/products/{SITE}:red-disc").status_code == 200  # the product route is unchanged
