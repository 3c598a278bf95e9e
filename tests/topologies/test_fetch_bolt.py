"""The fetch bolt: a product's decoded images out in one tuple, anchored; refused images and malformed records
dead-lettered; records with transient failures sent to the retry topic, their hosts' breakers opened and probed."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.queue.retry import RetryEnvelope, RetryState
from snapmode.records import ProductRecord
from snapmode.topologies.fetch import REJECTED, RETRY, FetchBolt
from snapmode.topologies.payloads import product_from_values, rejection_from_values
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.loopback import LoopbackServer, Response, directory_handler, route_handler
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


def dead_port() -> int:
    """A loopback port nothing listens on: connection refused, which may heal."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_transient_failure_sends_the_record_to_the_retry_topic_and_frees_its_slot(bolt, shop: str,  # type: ignore[no-untyped-def]
                                                                                   tmp_path: Path) -> None:
    port = dead_port()
    good = write(tmp_path / "good.jpg", jpeg_bytes(), shop)
    raw = record(good, f"http://127.0.0.1:{port}/a.jpg")
    before = time.time()
    bolt.process(tup(["shop:p1", raw], tup_id="r1"))
    sent = messages(bolt)
    assert commands(sent, "emit", "default") == [] and commands(sent, "emit", REJECTED) == []  # nothing half-done
    [retry] = commands(sent, "emit", RETRY)
    assert retry["anchors"] == ["r1"] and retry["tuple"][0] == "shop:p1"
    envelope = RetryEnvelope.from_json(retry["tuple"][1])
    failing = ProductRecord.from_json(raw).images()[1].image_id
    assert envelope.record == raw and envelope.key == "shop:p1" and envelope.host == f"127.0.0.1:{port}"
    assert envelope.state.attempts == 1 and set(envelope.state.failing) == {failing}
    assert envelope.due_at >= before + bolt.delays.first_s and envelope.reason == "unreachable"
    assert commands(sent, "ack") == [{"command": "ack", "id": "r1"}] and commands(sent, "fail") == []


def test_a_retried_record_keeps_its_first_failure_and_waits_longer_each_try(bolt) -> None:  # type: ignore[no-untyped-def]
    raw = record(f"http://127.0.0.1:{dead_port()}/a.jpg")
    image = ProductRecord.from_json(raw).images()[0].image_id
    first = time.time() - 50
    bolt.process(tup(["shop:p1", raw, RetryState({image: first}, attempts=3).to_json()], tup_id="r1"))
    [retry] = commands(messages(bolt), "emit", RETRY)
    envelope = RetryEnvelope.from_json(retry["tuple"][1])
    assert envelope.state == RetryState({image: first}, attempts=4)
    assert envelope.due_at - time.time() > bolt.delays.delay(3) - 1  # the fourth delay, longer than the first


def test_an_image_failing_past_the_window_since_its_first_failure_is_dead_lettered_alone(
        settings: Settings, shop: str, tmp_path: Path) -> None:
    bolt = start(FetchBolt, settings.model_copy(update={"allow_private_urls": True, "fetch_timeout_s": 2.0,
                                                        "fetch_retry_window_s": 60.0}), "fetch")
    dead = f"http://127.0.0.1:{dead_port()}/a.jpg"
    raw = record(write(tmp_path / "good.jpg", jpeg_bytes(), shop), dead)
    image = ProductRecord.from_json(raw).images()[1].image_id
    bolt.process(tup(["shop:p1", raw, RetryState({image: time.time() - 61}, attempts=7).to_json()], tup_id="r1"))
    sent = messages(bolt)
    [product] = commands(sent, "emit", "default")
    assert len(product_from_values(product["tuple"], bolt.handoff).images) == 1  # the good image goes on
    [letter] = commands(sent, "emit", REJECTED)
    rejection = rejection_from_values(letter["tuple"])
    assert rejection.url == dead and rejection.reason == "unreachable" and rejection.payload == raw
    assert "failing since" in rejection.detail and "8 tries" in rejection.detail  # seven before, this one
    assert commands(sent, "emit", RETRY) == [] and [m["id"] for m in commands(sent, "ack")] == ["r1"]


def test_an_open_breaker_sends_records_back_untried_and_a_probe_closes_it(settings: Settings, tmp_path: Path) -> None:
    answers = {"status": 503}
    asked: list[str] = []

    def respond(path: str) -> Response:
        asked.append(path)
        return (answers["status"], "image/jpeg", jpeg_bytes(), {}) if answers["status"] == 200 else \
            (answers["status"], "text/plain", b"busy", {})

    bolt = start(FetchBolt, settings.model_copy(update={"allow_private_urls": True, "host_breaker_failures": 2,
                                                        "host_breaker_cooldown_s": 30.0}), "fetch")
    with LoopbackServer(route_handler(respond)) as host:
        for n in range(4):
            bolt.process(tup([f"shop:p{n}", record(f"{host.base}/{n}.jpg", product_id=f"p{n}")], tup_id=f"r{n}"))
        retried = [RetryEnvelope.from_json(m["tuple"][1]) for m in commands(messages(bolt), "emit", RETRY)]
        assert asked == ["/0.jpg", "/1.jpg"]  # two failures opened the breaker: the others were not tried
        assert [e.breaker_open_until is not None for e in retried] == [False, True, True, True]
        assert all(e.due_at >= e.breaker_open_until for e in retried[1:])  # not due before a probe may go
        assert {e.reason for e in retried} == {"http_error"}  # the host's last answer, untried or not

        answers["status"] = 200
        bolt.breakers.clock = lambda: time.time() + 31  # the cool-down is over: one probe
        for n in range(4):
            bolt.process(tup([f"shop:p{n}", record(f"{host.base}/{n}.jpg", product_id=f"p{n}")],
                             tup_id=f"again{n}"))
        sent = messages(bolt)
    assert asked[2:] == ["/0.jpg", "/1.jpg", "/2.jpg", "/3.jpg"]  # the probe passed: the host is closed again
    assert len(commands(sent, "emit", "default")) == 4 and commands(sent, "emit", RETRY) == []


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
    port = dead_port()
    good = write(tmp_path / "good.jpg", jpeg_bytes(), shop)
    bolt.process(tup(["shop:p1", record(good, f"http://127.0.0.1:{port}/a.jpg")], tup_id="r1"))
    sent = messages(bolt)
    [product] = commands(sent, "emit", "default")
    assert len(product_from_values(product["tuple"], bolt.handoff).images) == 1  # the good image goes on
    [letter] = commands(sent, "emit", REJECTED)
    rejection = rejection_from_values(letter["tuple"])
    assert rejection.retryable and rejection.url == f"http://127.0.0.1:{port}/a.jpg" and rejection.payload
    assert [m["id"] for m in commands(sent, "ack")] == ["r1"] and commands(sent, "fail") == []
