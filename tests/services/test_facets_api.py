"""`GET /facets` over the indexed catalog: value counts, price range, filters, and its place in the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.services.conftest import PRODUCTS, SITE


def test_facets_count_every_value_and_the_price_range(client: TestClient) -> None:
    body = client.get("/facets").json()
    assert body["total"] == len(PRODUCTS)
    assert body["categories"][0] == {"value": "hat", "count": 2}
    assert {f["value"]: f["count"] for f in body["categories"]} == {"hat": 2, "t-shirt": 1, "dress": 1, "bag": 1,
                                                                    "shoe": 1}
    assert {f["value"] for f in body["colours"]} == {colour for _, colour, _, _ in PRODUCTS.values()}
    assert body["brands"] == [{"value": "Testwear", "count": 6}] and body["sites"] == [{"value": SITE, "count": 6}]
    assert (body["price_min"], body["price_max"]) == (18.0, 25.0)  # 10 + the length of each product id


def test_facets_under_a_filter(client: TestClient) -> None:
    hats = client.get("/facets", params={"category": "hat"}).json()
    assert hats["total"] == 2 and {f["value"] for f in hats["colours"]} == {"red", "black"}
    cheap = client.get("/facets", params={"price_max": 20}).json()
    assert cheap["total"] == 2 and cheap["price_max"] == 20.0
    nothing = client.get("/facets", params={"brand": "nobody"}).json()
    assert nothing["total"] == 0 and nothing["categories"] == [] and nothing["price_min"] is None
    assert client.get("/facets", params={"price_min": -1}).status_code == 422


def test_new_routes_are_in_the_openapi_document_with_summaries(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in (("/facets", "get"), ("/products/{key}/similar", "get"), ("/search", "post")):
        assert paths[path][method]["summary"], path
    search_fields = client.get("/openapi.json").json()["components"]["schemas"]
    assert any("offset" in schema.get("properties", {}) and "q" in schema.get("properties", {})
               for schema in search_fields.values())
