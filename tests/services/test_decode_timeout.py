"""A query photo that takes too long to decode: refused at `SNAPMODE_DECODE_TIMEOUT_S` with 422 and a stable
reason, counted, and the API answers everything else meanwhile and after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.pipeline.options import decode_limits
from snapmode.services.app import create_app
from tests.imagefiles import progressive_scan_bomb
from tests.services.conftest import Catalog


@pytest.fixture(scope="module")
def hurried(api_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    update = {"decode_timeout_s": 0.5, "max_jpeg_scans": 10_000}  # the scan bomb reaches the decoder
    with TestClient(create_app(api_settings.model_copy(update=update), embedder=embedder)) as c:
        yield c


def test_the_setting_reaches_the_decode_limits() -> None:
    assert decode_limits(Settings(decode_timeout_s=3.5, _env_file=None)).time_limit_s == 3.5  # type: ignore[call-arg]


def test_a_slow_decode_is_refused_counted_and_blocks_nothing(hurried: TestClient, catalog: Catalog) -> None:
    bomb = progressive_scan_bomb()  # 20 KB, about 6 s to decode in full
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        slow = pool.submit(hurried.post, "/search", files={"file": ("q.jpg", bomb, "image/jpeg")})
        health = [hurried.get("/healthz") for _ in range(3)]  # while the decode runs
        refused = slow.result(timeout=30)
        took = time.perf_counter() - started
    assert all(h.status_code == 200 for h in health)
    assert refused.status_code == 422 and refused.json() == {"detail": "The image takes too long to decode.",
                                                             "reason": "decode_timeout"}
    assert took < 5.0  # answered near the 0.5 s limit (generous on two shared cores), not after the full decode
    metrics = hurried.get("/metrics").text
    assert 'snapmode_images_rejected_total{reason="decode_timeout"} 1.0' in metrics
    answer = hurried.post("/search", files={"file": ("q.jpg", catalog.held_out["red-disc"], "image/jpeg")})
    assert answer.status_code == 200 and answer.json()["results"]  # its decode slot came back


def test_with_the_default_scan_limit_the_bomb_is_refused_unread(client: TestClient) -> None:
    refused = client.post("/search", files={"file": ("q.jpg", progressive_scan_bomb(), "image/jpeg")})
    assert refused.status_code == 422 and refused.json()["reason"] == "scan_bomb"
