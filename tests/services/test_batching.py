"""Micro-batched photo queries: the same results as one query at a time, one forward pass for queries that arrive
together, and a wait that is bounded and never taken by a query alone. No timing targets: only bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from snapmode.interfaces import SearchFilter
from snapmode.pipeline.errors import ImageRejected
from snapmode.search.service import Page, SearchService
from snapmode.services.batching import QueryBatcher
from tests.conftest import jpeg_bytes, png_bomb_bytes
from tests.search.test_service import SHADES, service  # noqa: F401 - the fixture

PHOTOS = [jpeg_bytes(c) for shades in SHADES.values() for c in shades] + [jpeg_bytes((120, 120, 120))]
PAGES = [Page(), Page(k=2), Page(k=1, offset=1), Page(k=3, where=SearchFilter(category="dress")),
         Page(k=2, where=SearchFilter(price_max=45.0)), Page(k=4, offset=2)]


class CountingEmbedder:
    """Wraps an embedder and records the size of each forward pass; `delay_s` makes each pass slow."""

    def __init__(self, inner: object, delay_s: float = 0.0) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.name, self.dim, self.model_id = inner.name, inner.dim, inner.model_id  # type: ignore[attr-defined]
        self.passes: list[int] = []

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.passes.append(len(images))
        time.sleep(self.delay_s)
        return self.inner.embed(images)  # type: ignore[attr-defined]


@pytest.fixture
def counted(service: SearchService) -> Iterator[tuple[SearchService, CountingEmbedder]]:  # noqa: F811
    embedder = CountingEmbedder(service.embedder)
    service.embedder = embedder
    yield service, embedder


def test_batched_vector_search_equals_one_query_at_a_time(service: SearchService) -> None:  # noqa: F811
    vectors = np.stack([service.embed_image(p) for p in PHOTOS])
    pages = [PAGES[i % len(PAGES)] for i in range(len(PHOTOS))]
    alone = [service.search_vector(v, p.k, p.where, p.offset) for v, p in zip(vectors, pages)]
    assert service.search_vectors(vectors, pages) == alone
    assert any(alone) and all(len(r) <= p.k for r, p in zip(alone, pages))


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_queries_share_forward_passes_and_get_their_own_results(
        counted: tuple[SearchService, CountingEmbedder], workers: int) -> None:
    service, embedder = counted
    embedder.delay_s = 0.05  # while one pass runs, the next batch gathers
    pages = [PAGES[i % len(PAGES)] for i in range(len(PHOTOS))]
    alone = [service.search_image(data, p.k, p.where, p.offset) for data, p in zip(PHOTOS, pages)]
    embedder.passes.clear()
    batcher = QueryBatcher(service, wait_s=0.2, max_batch=8, workers=workers)
    try:
        start = threading.Barrier(len(PHOTOS))

        def query(i: int) -> object:
            start.wait()
            return batcher.search_image(PHOTOS[i], pages[i])

        with ThreadPoolExecutor(len(PHOTOS)) as pool:
            batched = list(pool.map(query, range(len(PHOTOS))))
    finally:
        batcher.close()
    assert batched == alone
    assert sum(embedder.passes) == len(PHOTOS) and max(embedder.passes) <= 8
    assert len(embedder.passes) < len(PHOTOS)  # some queries shared a pass


def test_a_query_alone_is_not_held_back(counted: tuple[SearchService, CountingEmbedder]) -> None:
    service, embedder = counted
    batcher = QueryBatcher(service, wait_s=5.0)  # a wait no single query may take
    try:
        for data in PHOTOS[:3]:
            started = time.monotonic()
            assert batcher.search_image(data, Page(k=2)) == service.search_image(data, k=2)
            assert time.monotonic() - started < 4.0
    finally:
        batcher.close()
    assert embedder.passes.count(1) >= 3


def test_the_wait_for_queries_still_on_their_way_is_bounded(counted: tuple[SearchService, CountingEmbedder]) -> None:
    service, embedder = counted
    batcher = QueryBatcher(service, wait_s=0.3)
    try:
        batcher.admit()  # a query announced that never comes: the first one waits for it at most wait_s
        started = time.monotonic()
        assert batcher.search_image(PHOTOS[0], Page(k=1))[0].product_id == "red"
        waited = time.monotonic() - started
        batcher.withdraw()
    finally:
        batcher.close()
    assert 0.25 <= waited < 3.0 and embedder.passes[-1] == 1


def test_a_refused_photo_fails_alone_and_releases_its_place(counted: tuple[SearchService, CountingEmbedder]) -> None:
    service, _ = counted
    batcher = QueryBatcher(service, wait_s=5.0)
    try:
        with pytest.raises(ImageRejected):
            batcher.search_image(png_bomb_bytes(), Page())
        started = time.monotonic()  # nothing is still counted as on its way: the next query is not held back
        assert batcher.search_image(PHOTOS[3], Page(k=1))[0].product_id == "green"
        assert time.monotonic() - started < 4.0
    finally:
        batcher.close()


def test_a_failing_batch_fails_each_of_its_queries(counted: tuple[SearchService, CountingEmbedder]) -> None:
    service, embedder = counted

    def broken(images: Sequence[Image.Image]) -> np.ndarray:
        raise RuntimeError("model gone")

    embedder.embed = broken  # type: ignore[method-assign]
    batcher = QueryBatcher(service, wait_s=0.01)
    try:
        with pytest.raises(RuntimeError, match="model gone"):
            batcher.search_image(PHOTOS[0], Page())
    finally:
        batcher.close()
