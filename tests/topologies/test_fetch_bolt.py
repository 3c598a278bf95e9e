"""The fetch bolt: a product's decoded images out in one tuple, anchored; refused images and malformed records dead-lettered; transient
failures replayed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.records import ProductRecord
from snapmode.topologies.fetch import REJECTED, FetchBolt
from snapmode.topologies.payloads import product_from_values, rejection_from_values
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.loopback import LoopbackServer, directory_handler
from tests.topologies.harness import commands, messages, start, tup


@pytest.fixture
def bolt(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    return start(FetchBolt, settings.model_copy(update={"allow_private_urls": True, "fetch_timeout_s": 2.0,
                                                        "handoff_dir": tmp_path / "handoff"}), "fetch")


def record(*urls: str, product_id: str = "p1") -> str:
    return ProductRecord(site="shop", product_id=product_id, url="https://shop.example/p1", title="Shirt",
                         image_urls=urls).to_json()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[str]:
    """The base URL of a loopback server over `tmp_path`: published records name http(s) images only."""
    with LoopbackServer(directory_handler(tmp_path)) as server:
        yield server.base


def write(path: Path, data: bytes, base: str) -> str:
    path.write_bytes(data)
    return f"{base}/{path.name}"


def test_emits_the_decoded_images_of_a_product_anchored_then_acks(bolt, shop: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    urls = [write(tmp_path / f"{i}.jpg", jpeg_bytes(size=(600, 300)), shop) for i in range(2)]
    bolt.process(tup(["shop:p1", record(*urls)], tup_id="r1"))
    sent = messages(bolt)
    [emitted] = commands(sent, "emit")
    assert emitted["anchors"] == ["r1"] and emitted["tuple"][0] == "shop:p1"
    product = product_from_values(emitted["tuple"], bolt.handoff)
    assert len(product.images) == 2 and product.record.product_id == "p1"
    assert all(max(p.image.size) <= 256 for p in product.images)
    assert commands(sent, "ack") == [{"command": "ack", "id": "r1"}]


def test_images_go_through_handoff_files_with_one_worker_and_inline_with_more(settings: Settings, shop: str,
                                                                               tmp_path: Path) -> None:
    url = write(tmp_path / "a.jpg", jpeg_bytes(size=(600, 300)), shop)
    base = settings.model_copy(update={"allow_private_urls": True, "handoff_dir": tmp_path / "handoff"})
    local = start(FetchBolt, base, "fetch")
    local.process(tup(["shop:p1", record(url)], tup_id="r1"))
    values = commands(messages(local), "emit")[0]["tuple"]
    [[_, name]] = json.loads(values[-1])
    assert name.startswith("handoff:") and len(name) < 100  # a name, not the pixels
    assert len(list((tmp_path / "handoff").iterdir())) == 1
    assert product_from_values(values, local.handoff).images[0].image.size == (256, 128)
    assert list((tmp_path / "handoff").iterdir()) == []  # the reader removed it

    inline = start(FetchBolt, base.model_copy(update={"topology_workers": 2}), "fetch")
    assert inline.handoff is None
    inline.process(tup(["shop:p1", record(url)], tup_id="r1"))
    assert product_from_values(commands(messages(inline), "emit")[0]["tuple"]).images[0].image.size == (256, 128)


def test_refused_images_and_malformed_records_go_to_dead_letters(bolt, shop: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    good = write(tmp_path / "good.jpg", jpeg_bytes(), shop)
    bomb = write(tmp_path / "bomb.png", png_bomb_bytes(), shop)
    html = write(tmp_path / "page.jpg", b"<html>not a photo</html>", shop)
    local = write(tmp_path / "local.jpg", jpeg_bytes(), shop).replace(shop, tmp_path.as_uri())
    bolt.process(tup(["shop:p1", record(good, bomb, html, f"{shop}/missing.jpg", local)], tup_id="r1"))
    bolt.process(tup(["shop:p2", json.dumps({"site": "shop"})], tup_id="r2"))
    sent = messages(bolt)
    reasons = sorted(rejection_from_values(m["tuple"]).reason for m in commands(sent, "emit", REJECTED))
    assert reasons == ["file_not_allowed", "http_error", "invalid_record", "not_an_image", "pixel_bomb"]
    malformed = [rejection_from_values(m["tuple"]) for m in commands(sent, "emit", REJECTED)
                 if m["anchors"] == ["r2"]]
    assert malformed[0].product_key == "shop:p2" and malformed[0].payload
    [product] = commands(sent, "emit", "default")
    assert len(product_from_values(product["tuple"], bolt.handoff).images) == 1  # the good image
    assert {m["id"] for m in commands(sent, "ack")} == {"r1", "r2"}


def test_a_transient_failure_fails_the_record_so_it_replays(bolt, shop: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:  # a port nothing listens on: connection refused, which may heal
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    good = write(tmp_path / "good.jpg", jpeg_bytes(), shop)
    bolt.process(tup(["shop:p1", record(good, f"http://127.0.0.1:{port}/a.jpg")], tup_id="r1"))
    sent = messages(bolt)
    assert commands(sent, "emit") == []  # nothing half-done: the whole record comes back
    assert commands(sent, "fail") == [{"command": "fail", "id": "r1"}]
    assert commands(sent, "ack") == []


def test_an_unexpected_error_is_dead_lettered_with_the_record_instead_of_replayed(bolt: FetchBolt) -> None:
    def broken(key: str, raw: str) -> list[object]:
        raise RuntimeError("a bug")

    bolt.prepare = broken  # type: ignore[method-assign]
    bolt.process(tup(["shop:p1", record("https://shop.example/a.jpg")], tup_id="r1"))
    sent = messages(bolt)
    [letter] = commands(sent, "emit", REJECTED)
    rejection = rejection_from_values(letter["tuple"])
    assert rejection.reason == "unexpected_error" and rejection.detail == "RuntimeError: a bug"
    assert rejection.product_key == "shop:p1" and rejection.payload is not None
    assert [m["id"] for m in commands(sent, "ack")] == ["r1"] and commands(sent, "fail") == []


def test_an_image_failing_past_the_window_is_dead_lettered_alone(settings: Settings, shop: str,
                                                                 tmp_path: Path) -> None:
    bolt = start(FetchBolt, settings.model_copy(update={"allow_private_urls": True, "fetch_timeout_s": 2.0,
                                                        "fetch_retry_window_s": 0.0}), "fetch")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    good = write(tmp_path / "good.jpg", jpeg_bytes(), shop)
    bolt.process(tup(["shop:p1", record(good, f"http://127.0.0.1:{port}/a.jpg")], tup_id="r1"))
    sent = messages(bolt)
    [product] = commands(sent, "emit", "default")
    assert len(product_from_values(product["tuple"], bolt.handoff).images) == 1  # the good image goes on
    [letter] = commands(sent, "emit", REJECTED)
    rejection = rejection_from_values(letter["tuple"])
    assert rejection.retryable and rejection.url == f"http://127.0.0.1:{port}/a.jpg" and rejection.payload
    assert [m["id"] for m in commands(sent, "ack")] == ["r1"] and commands(sent, "fail") == []
