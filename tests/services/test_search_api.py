"""`POST /search` and `POST /search/url` with the real model and stores: right products, bad input refused clearly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from snapmode.model.backbone import BackboneEmbedder
from snapmode.platform import Platform
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.imagefiles import (HTML_PAGE, cmyk_jpeg, exif_rotated_jpeg, palette_png_with_transparency, png_16bit,
                              rgba_png, truncated_jpeg)
from tests.loopback import LoopbackServer, Response, routes_handler
from tests.services.conftest import MAX_IMAGE_BYTES, SITE, Catalog


def search(client: TestClient, data: bytes, name: str = "q.jpg", mime: str = "image/jpeg", **params: object):  # type: ignore[no-untyped-def]
    return client.post("/search", files={"file": (name, data, mime)}, data={k: str(v) for k, v in params.items()})


def test_held_out_views_find_their_product_first(client: TestClient, catalog: Catalog) -> None:
    ranks = {}
    for pid, data in catalog.held_out.items():
        response = search(client, data, k=3)
        assert response.status_code == 200, response.text
        ranks[pid] = [r["product_id"] for r in response.json()["results"]]
    first = sum(ids[0] == pid for pid, ids in ranks.items())
    print(f"held-out views ranked first: {first}/{len(ranks)}")
    assert first >= len(ranks) - 1, ranks


def test_the_api_is_wired_by_the_platform_with_the_given_embedder(client: TestClient,
                                                                  embedder: BackboneEmbedder) -> None:
    state = client.app.state.snapmode  # type: ignore[attr-defined]
    assert isinstance(state.platform, Platform) and state.embedder is state.platform.embedder is embedder
    assert state.search is state.platform.search and state.metadata is state.search.metadata
    assert state.batcher is not None and state.batcher.search is state.search  # batching is on by default


def test_result_fields_and_best_image(client: TestClient, catalog: Catalog) -> None:
    record = catalog.records["blue-stripes"]
    indexed = (catalog.root / "blue-stripes" / "1.jpg").read_bytes()
    body = search(client, indexed, k=4).json()
    assert body["k"] == 4 and len(body["results"]) == 4
    top = body["results"][0]
    assert top["product_key"] == f"{SITE}:blue-stripes" and top["score"] > 0.99  # the very image that was indexed
    assert top["image_id"] == record.images()[1].image_id and top["image_url"] == record.image_urls[1]
    assert (top["title"], top["brand"], top["category"], top["price"], top["currency"]) == \
        (record.title, "Testwear", "t-shirt", record.price, "EUR")
    assert len({r["product_key"] for r in body["results"]}) == 4
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    image = client.get(top["image_path"])
    assert image.status_code == 200 and image.content == indexed


def test_filters_as_form_fields_not_query_parameters(client: TestClient, catalog: Catalog) -> None:
    query = catalog.held_out["red-disc"]
    by_form = search(client, query, k=10, category="hat").json()["results"]
    assert {r["product_id"] for r in by_form} == {"red-disc", "black-ring"}
    by_query = client.post("/search?category=hat&k=1", files={"file": ("q.jpg", query, "image/jpeg")})
    assert by_query.status_code == 422 and by_query.json()["reason"] == "invalid_request"
    assert [e["loc"] for e in by_query.json()["errors"]] == [["query", "category"], ["query", "k"]]
    priced = search(client, query, k=10, price_max=18.5).json()["results"]
    assert priced and all(r["price"] <= 18.5 for r in priced)
    assert search(client, query, k=10, category="no-such-category").json()["results"] == []


def test_repeated_query_is_answered_from_the_cache(client: TestClient, catalog: Catalog) -> None:
    data = catalog.held_out["orange-bars"]
    first = search(client, data, k=5, brand="Testwear").json()
    again = search(client, data, k=5, brand="Testwear").json()
    other_k = search(client, data, k=4, brand="Testwear").json()
    assert again["cached"] is True and again["results"] == first["results"]
    assert other_k["cached"] is False and len(other_k["results"]) == 4


@pytest.mark.parametrize(("name", "data"), [
    ("exif-rotated.jpg", exif_rotated_jpeg()), ("cmyk.jpg", cmyk_jpeg()),
    ("palette.png", palette_png_with_transparency()), ("16bit.png", png_16bit()), ("rgba.png", rgba_png()),
])
def test_odd_but_valid_images_are_searched(client: TestClient, name: str, data: bytes) -> None:
    response = search(client, data, name=name, k=3)
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize(("name", "mime", "data", "status", "reason"), [
    ("notes.txt", "text/plain", b"shopping list: socks, a hat\n" * 20, 415, "not_an_image"),
    ("photo.jpg", "image/jpeg", HTML_PAGE, 415, "not_an_image"),
    ("cut.jpg", "image/jpeg", truncated_jpeg(), 422, "corrupt"),
    ("bomb.png", "image/png", png_bomb_bytes(50_000, 50_000), 422, "pixel_bomb"),
    ("empty.jpg", "image/jpeg", b"", 422, "empty"),
])
@pytest.mark.timeout(20)
def test_bad_uploads_get_a_clear_error(client: TestClient, name: str, mime: str, data: bytes, status: int,
                                       reason: str) -> None:
    response = search(client, data, name=name, mime=mime)
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason and response.json()["detail"]


def test_oversized_upload_by_content_length_is_413(client: TestClient) -> None:
    response = search(client, b"\xff\xd8\xff" + b"\x00" * (MAX_IMAGE_BYTES * 2))
    assert response.status_code == 413 and response.json()["reason"] == "too_large"


def test_upload_just_over_the_limit_is_413(client: TestClient) -> None:
    # Within the multipart allowance of the body limit, so the route's own read-size check refuses it.
    response = search(client, b"\xff\xd8\xff" + b"\x00" * MAX_IMAGE_BYTES)
    assert response.status_code == 413 and response.json()["reason"] == "too_large"


def test_streamed_body_without_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"\x00" * 16_384

    response = client.post("/search", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413


@pytest.mark.parametrize("k", [0, -1, 101])
def test_k_out_of_range_is_422(client: TestClient, k: int) -> None:
    response = search(client, jpeg_bytes(), k=k)
    assert response.status_code == 422 and "k" in response.text


def test_missing_file_is_422(client: TestClient) -> None:
    assert client.post("/search", data={"k": "3"}).status_code == 422


@pytest.fixture(scope="module")
def image_server(catalog: Catalog) -> Iterator[str]:
    routes: dict[str, Response] = {"/green.jpg": (200, "image/jpeg", catalog.held_out["green-checks"], {}),
                                   "/page.jpg": (200, "image/jpeg", HTML_PAGE, {})}
    with LoopbackServer(routes_handler(routes)) as server:
        yield server.base


def test_search_by_url(client: TestClient, image_server: str) -> None:
    response = client.post("/search/url", json={"url": f"{image_server}/green.jpg", "k": 2})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["product_id"] == "green-checks"


@pytest.mark.parametrize(("path", "status", "reason"), [
    ("/page.jpg", 415, "not_an_image"), ("/missing.jpg", 502, "http_error")])
def test_search_by_url_refuses_bad_targets(client: TestClient, image_server: str, path: str, status: int,
                                           reason: str) -> None:
    response = client.post("/search/url", json={"url": image_server + path})
    assert response.status_code == status and response.json()["reason"] == reason
    assert "127.0.0.1" not in response.text and "HTTP" not in response.text  # nothing of the upstream in the body


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd", "ftp://example.com/a.jpg"])
def test_search_by_url_never_reads_local_files(client: TestClient, url: str) -> None:
    response = client.post("/search/url", json={"url": url})
    assert response.status_code == 422 and response.json()["reason"] == "bad_url"


def test_rejections_are_counted_in_metrics(client: TestClient) -> None:
    search(client, HTML_PAGE)
    text = client.get("/metrics").text
    assert 'snapmode_images_rejected_total{reason="not_an_image"}' in text
    assert 'snapmode_http_requests_total{method="POST",route="/search",status="415"}' in text
    assert "snapmode_http_request_duration_seconds_bucket" in text



def test_paging_with_offset(client: TestClient, catalog: Catalog) -> None:
    query = catalog.held_out["green-checks"]
    everything = [r["product_key"] for r in search(client, query, k=6).json()["results"]]
    pages = [search(client, query, k=2, offset=offset).json() for offset in (0, 2, 4)]
    assert [r["product_key"] for page in pages for r in page["results"]] == everything
    assert [page["offset"] for page in pages] == [0, 2, 4]
    assert search(client, query, k=2, offset=6).json()["results"] == []
    for offset in (-1, 100_000):
        response = search(client, query, k=2, offset=offset)
        assert response.status_code == 422 and "offset" in response.text


def test_words_with_a_photo_find_the_product_they_describe(client: TestClient, catalog: Catalog) -> None:
    photo = catalog.held_out["red-disc"]
    assert search(client, photo, k=1).json()["results"][0]["product_id"] == "red-disc"
    body = search(client, photo, k=3, q="black").json()
    assert body["ranking"] == "hybrid" and body["results"][0]["product_id"] == "black-ring"
    filtered = search(client, photo, k=5, q="hat", category="hat", offset=1).json()["results"]
    assert len(filtered) == 1 and filtered[0]["category"] == "hat"


def test_text_only_search(client: TestClient) -> None:
    response = client.post("/search", data={"q": "stripes", "k": "3"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"] == "text" and [r["product_id"] for r in body["results"]] == ["blue-stripes"]
    assert body["results"][0]["image_path"].startswith("/images/")
    assert client.post("/search", data={"q": "yellow"}).json()["results"][0]["product_id"] == "yellow-triangle"
    again = client.post("/search", data={"q": "stripes", "k": "3"}).json()
    assert again["cached"] is True and again["results"] == body["results"]


@pytest.mark.parametrize("form", [{}, {"q": "   "}, {"k": "3"}])
def test_a_search_without_photo_or_words_is_422(client: TestClient, form: dict[str, str]) -> None:
    response = client.post("/search", data=form)
    assert response.status_code == 422 and "photo" in response.text and response.json()["reason"] == "invalid_request"


def test_words_that_match_nothing_find_nothing(client: TestClient) -> None:
    response = client.post("/search", data={"q": "  ?! "})
    assert response.status_code == 200 and response.json()["results"] == []


def test_search_by_url_with_words_and_offset(client: TestClient, image_server: str) -> None:
    body = client.post("/search/url", json={"url": f"{image_server}/green.jpg", "k": 2, "q": "hat",
                                            "offset": 0}).json()
    assert body["ranking"] == "hybrid" and body["results"][0]["category"] == "hat"
