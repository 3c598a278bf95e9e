"""`GET /healthz`, `GET /metrics`, the web page and the OpenAPI document."""

from __future__ import annotations

from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.services.app import create_app
from tests.services.conftest import PRODUCTS, VIEWS


def test_healthz_reports_store_counts(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["embedder"] == "efficientnet-lite0" and body["dim"] == 1280
    assert body["vectors"] == len(PRODUCTS) * (VIEWS - 1) and body["products"] == len(PRODUCTS)


def test_healthz_is_503_when_a_store_is_down(api_settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(api_settings.model_copy(update={"data_dir": api_settings.data_dir / "other"}),
                               embedder=embedder)) as client:
        client.app.state.snapmode.metadata.close()  # type: ignore[attr-defined]
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "degraded" and body["products"] is None and body["vectors"] == 0


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'snapmode_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


def test_web_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.css", "/static/app.js"):
        assert asset in page.text and client.get(asset).status_code == 200
    assert "http://" not in page.text.replace("http://127.0.0.1", "") and "cdn" not in page.text.lower()


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/search", "/search/url", "/products", "/products/{key}", "/images/{image_id}", "/healthz",
            "/metrics"} <= paths
