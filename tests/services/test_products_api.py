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
