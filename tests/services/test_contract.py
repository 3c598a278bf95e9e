"""The API keeps its OpenAPI document: the schema fuzzer finds no failure on the embedded API, every error is a
`Problem`, the limits and the API key's scheme are the configured ones."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.services.app import create_app
from tests.services.fuzz import EXAMPLES, fuzz


def test_fuzzer_finds_no_failure(api_settings: Settings, embedder: BackboneEmbedder,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The fuzzer starts and stops the app's lifespan itself: an app of its own."""
    report = fuzz(create_app(api_settings, embedder=embedder), examples=EXAMPLES)
    with capsys.disabled():
        print("\n" + report.summary())
        for line in report.failures + report.errors + report.examples:
            print("  " + line.replace("\n", "\n    "))
    assert report.cases > 0
    assert not report.failures and not report.errors, report.summary()


def test_every_error_is_a_problem_and_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/healthz":
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Problem"), (
                        path, method, status)
    missing = client.get("/products/test-shop:no-such/similar", params={"k": 0})
    assert missing.status_code == 422 and missing.json()["reason"] == "invalid_request"
    assert missing.json()["errors"][0]["loc"] == ["query", "k"]
    unknown = client.get("/products/test-shop:no-such")
    assert unknown.status_code == 404 and unknown.json()["reason"] == "not_found"


def test_limits_in_the_document_are_the_configured_ones(client: TestClient) -> None:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    similar = client.get("/openapi.json").json()["paths"]["/products/{key}/similar"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in similar}
    assert by_name["k"]["maximum"] == settings.search_k_max and by_name["k"]["minimum"] == 1
    assert by_name["offset"]["maximum"] == settings.search_offset_max
    assert by_name["brand"]["maxLength"] == 256 and "null" not in str(by_name["brand"])
    over = client.get("/products/test-shop:red-disc/similar", params={"k": settings.search_k_max + 1})
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == ["query", "k"]


@pytest.mark.parametrize("value", ["\x01\x02", "a\tb", "x" * 257])
def test_a_filter_value_the_store_cannot_take_is_bad_input(client: TestClient, value: str) -> None:
    for path in ("/products/test-shop:red-disc/similar", "/facets", "/products"):
        response = client.get(path, params={"brand": value})
        assert response.status_code == 422 and response.json()["reason"] == "invalid_request", path


@pytest.mark.parametrize("value", ['Test"wear', "é漢😀", "back\\slash", "\\u0041", "x' or 1==1"])
def test_any_other_filter_value_is_searched_for(client: TestClient, value: str) -> None:
    response = client.get("/products/test-shop:red-disc/similar", params={"brand": value})
    assert response.status_code == 200 and response.json()["results"] == []


def test_api_key_is_optional_without_keys_and_required_with_them(api_settings: Settings) -> None:
    open_doc = create_app(api_settings).openapi()
    keyed = api_settings.model_copy(update={"api_keys": ["k" * 24]})
    keyed_doc = create_app(keyed).openapi()
    for doc, expected in ((open_doc, [{}, {"APIKeyHeader": []}]), (keyed_doc, [{"APIKeyHeader": []}])):
        assert doc["paths"]["/facets"]["get"]["security"] == expected
        assert doc["paths"]["/search"]["post"]["security"] == expected
