"""`POST /search` with photos batched (the default) answers as with batching off, and counts its batches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.services.app import create_app
from tests.services.conftest import Catalog


def _search(client: TestClient, photo: bytes, **params: object) -> list[dict]:
    response = client.post("/search", data={k: str(v) for k, v in params.items()},
                           files={"file": ("q.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ranking"] == "image" and body["cached"] is False
    return body["results"]


def test_batched_answers_equal_unbatched_ones(api_settings: Settings, embedder: BackboneEmbedder,
                                              catalog: Catalog) -> None:
    photos = list(catalog.held_out.values())
    queries = [(photo, {"k": 1 + i % 4, "offset": i % 2, **({"category": "hat"} if i % 3 == 0 else {})})
               for i, photo in enumerate(photos * 2)]
    answers = {}
    for wait_ms in (0, 50):
        settings = api_settings.model_copy(update={"query_batch_wait_ms": wait_ms, "cache_ttl_s": 0})
        with TestClient(create_app(settings, embedder=embedder)) as client:
            with ThreadPoolExecutor(6) as pool:
                answers[wait_ms] = list(pool.map(lambda q: _search(client, q[0], **q[1]), queries))
            metrics = client.get("/metrics").text
        counted = [line for line in metrics.splitlines() if line.startswith("snapmode_query_batch_size_sum")]
        assert counted and float(counted[0].split()[1]) == (len(queries) if wait_ms else 0)
    # the same products and images; scores equal up to float rounding (a batched forward pass sums in another order)
    strip = [[{k: v for k, v in r.items() if k != "score"} for r in rs] for rs in answers[0]]
    assert [[{k: v for k, v in r.items() if k != "score"} for r in rs] for rs in answers[50]] == strip
    scores = [(a["score"], b["score"]) for ra, rb in zip(answers[0], answers[50]) for a, b in zip(ra, rb)]
    assert scores and all(abs(a - b) < 1e-4 for a, b in scores)
    assert any(answers[0]) and answers[0][0][0]["product_id"] == next(iter(catalog.held_out))
