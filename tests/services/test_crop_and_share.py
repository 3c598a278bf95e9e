"""A region of the photo (`bbox`) searches for that object alone; an uploaded photo gets a `photo_id` that searches
with it again while the server keeps it (a shared link)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.loopback import LoopbackServer, routes_handler
from tests.services.conftest import PRODUCTS, SITE, draw, jpeg


def side_by_side(left: str, right: str) -> bytes:
    """Two products in one photo, as a shopper photographs an outfit: `left` and `right` next to each other."""
    a, b = (draw(PRODUCTS[p][3], PRODUCTS[p][2], view=2, size=192) for p in (left, right))
    both = Image.new("RGB", (384, 192), (250, 250, 248))
    both.paste(a, (0, 0))
    both.paste(b, (192, 0))
    return jpeg(both)


def first(client: TestClient, data: bytes, **form: str) -> str:
    answer = client.post("/search", files={"file": ("outfit.jpg", data, "image/jpeg")}, data={"k": "3", **form})
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]["product_key"]


@pytest.mark.parametrize("left, right", [("red-disc", "blue-stripes"), ("orange-bars", "green-checks")])
def test_each_half_of_a_photo_finds_its_own_product(client: TestClient, left: str, right: str) -> None:
    photo = side_by_side(left, right)
    assert first(client, photo, bbox="0,0,0.5,1") == f"{SITE}:{left}"
    assert first(client, photo, bbox="0.5,0,1,1") == f"{SITE}:{right}"


@pytest.mark.parametrize("bbox, says", [("0,0,1", "four numbers"), ("0.6,0,0.4,1", "x0 < x1"),
                                        ("0,0,2,1", "from 0 to 1")])
def test_a_bad_bbox_is_422_naming_it(client: TestClient, bbox: str, says: str) -> None:
    answer = client.post("/search", files={"file": ("q.jpg", side_by_side("red-disc", "black-ring"), "image/jpeg")},
                         data={"bbox": bbox})
    assert answer.status_code == 422 and answer.json()["reason"] == "invalid_request"
    assert answer.json()["errors"][0]["loc"][-1] == "bbox" and says in answer.json()["detail"]


def test_a_bbox_without_a_photo_is_422(client: TestClient) -> None:
    answer = client.post("/search", data={"q": "hat", "bbox": "0,0,0.5,1"})
    assert answer.status_code == 422 and "needs a photo" in answer.json()["detail"]


@pytest.fixture
def outfit_server() -> Iterator[str]:
    photo = side_by_side("orange-bars", "green-checks")
    with LoopbackServer(routes_handler({"/outfit.jpg": (200, "image/jpeg", photo, {})})) as server:
        yield server.base


def test_search_by_url_takes_a_bbox(client: TestClient, outfit_server: str) -> None:
    for bbox, product in (("0,0,0.5,1", "orange-bars"), ("0.5,0,1,1", "green-checks")):
        answer = client.post("/search/url", json={"url": f"{outfit_server}/outfit.jpg", "bbox": bbox, "k": 3})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["product_key"] == f"{SITE}:{product}" and "photo_id" not in answer.json()


def test_an_uploaded_photo_gets_an_id_that_searches_with_it_again(client: TestClient) -> None:
    photo = side_by_side("yellow-triangle", "black-ring")
    answer = client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}, data={"k": "4"}).json()
    assert len(answer["photo_id"]) == 32
    again = client.post("/search", data={"photo_id": answer["photo_id"], "k": "4"})
    assert again.status_code == 200 and again.json()["photo_id"] == answer["photo_id"]
    assert [r["product_key"] for r in again.json()["results"]] == [r["product_key"] for r in answer["results"]]
    cropped = client.post("/search", data={"photo_id": answer["photo_id"], "bbox": "0,0,0.5,1", "k": "1"}).json()
    assert cropped["results"][0]["product_key"] == f"{SITE}:yellow-triangle"


def test_a_photo_id_the_server_no_longer_keeps_is_404(client: TestClient) -> None:
    answer = client.post("/search", data={"photo_id": "0" * 32})
    assert answer.status_code == 404 and answer.json()["reason"] == "photo_expired"


def test_a_refused_photo_gets_no_id_and_a_file_with_an_id_is_422(client: TestClient) -> None:
    assert client.post("/search", files={"file": ("q.jpg", b"<html>", "image/jpeg")}).status_code == 415
    answer = client.post("/search", files={"file": ("q.jpg", side_by_side("red-disc", "black-ring"), "image/jpeg")},
                         data={"photo_id": "0" * 32})
    assert answer.status_code == 422 and "not both" in answer.json()["detail"]


def test_the_kept_photos_are_bounded_in_bytes() -> None:
    from snapmode.services.shared_photos import MemoryPhotos

    photos = MemoryPhotos(ttl_s=60, max_bytes=1000)
    assert photos.keep(b"x" * 2000) is None
    ids = [photos.keep(bytes([n]) * 400) for n in range(3)]
    assert photos.get(ids[0]) is None and photos.get(ids[2]) == bytes([2]) * 400  # the oldest made room


def test_a_kept_photo_is_served_back_for_the_page(client: TestClient) -> None:
    photo = side_by_side("red-disc", "green-checks")
    ident = client.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}).json()["photo_id"]
    served = client.get(f"/photos/{ident}")
    assert served.status_code == 200 and served.content == photo and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/photos/{'f' * 32}").json()["reason"] == "photo_expired"
    assert client.get("/photos/not-an-id").status_code == 422
