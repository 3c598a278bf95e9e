"""The search service: the best image per product, metadata joined, filters applied, k products returned."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from snapmode.interfaces import SearchFilter, VectorHit, VectorItem
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.errors import ImageRejected
from snapmode.records import ProductRecord
from snapmode.search.service import MAX_IMAGE_HITS, Page, SearchService, UnknownProduct, best_per_product
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.conftest import MeanColourEmbedder, jpeg_bytes, png_bomb_bytes

# Each product has several shades of one colour; the query colour picks the product.
SHADES = {"red": [(230, 20, 20), (200, 40, 40), (180, 10, 30)],
          "green": [(20, 200, 20), (40, 170, 60), (10, 230, 40)],
          "blue": [(20, 20, 220), (40, 60, 190), (10, 30, 250)],
          "yellow": [(230, 220, 20), (200, 200, 60), (250, 240, 10)]}
CATEGORY = {"red": "dress", "green": "hat", "blue": "dress", "yellow": "bag"}


def record(name: str) -> ProductRecord:
    return ProductRecord(site="shop", product_id=name, url=f"https://shop.example/{name}", title=f"{name} thing",
                         brand="Acme", category=CATEGORY[name], colour=name, price=10.0 * len(name), currency="EUR",
                         image_urls=tuple(f"https://shop.example/{name}/{i}.jpg" for i in range(3)))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SearchService]:
    embedder = MeanColourEmbedder()
    vectors = MilvusVectorStore(uri=str(tmp_path / "v.db"), collection="t", dim=embedder.dim)
    metadata = SqliteMetadataStore(tmp_path / "m.sqlite")
    service = SearchService(embedder, vectors, metadata, DecodeLimits())
    items = []
    for name, shades in SHADES.items():
        rec = record(name)
        metadata.upsert([rec])
        vecs = embedder.embed([Image.new("RGB", (8, 8), c) for c in shades])
        items += [VectorItem.from_record(rec, ref.image_id, v) for ref, v in zip(rec.images(), vecs)]
    vectors.upsert(items)
    yield service
    vectors.close()
    metadata.close()


def test_each_product_appears_once_with_its_best_image(service: SearchService) -> None:
    results = service.search_image(jpeg_bytes((200, 40, 40)), k=4)
    assert [r.product_id for r in results][0] == "red"
    assert len({r.product_key for r in results}) == len(results) == 4
    red = results[0]
    assert red.image_url == "https://shop.example/red/1.jpg"  # (200, 40, 40) is the second shade
    assert red.image_id == record("red").images()[1].image_id
    assert red.title == "red thing" and red.price == 30.0 and red.currency == "EUR" and red.category == "dress"
    assert all(a.score >= b.score for a, b in zip(results, results[1:]))


def test_k_limits_products_not_images(service: SearchService) -> None:
    assert len(service.search_image(jpeg_bytes((20, 20, 220)), k=2)) == 2
    assert len(service.search_image(jpeg_bytes((20, 20, 220)), k=50)) == 4


def test_few_products_with_many_images_widen_the_search(service: SearchService) -> None:
    service.oversample = 1  # 3 image hits for k=3 cover a single product; widening must find the others
    assert len(service.search_image(jpeg_bytes((230, 20, 20)), k=3)) == 3


def test_widening_never_asks_for_more_than_the_cap(service: SearchService, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    search = service.vectors.search
    monkeypatch.setattr(service.vectors, "search", lambda v, limit, where=None: asked.append(limit) or search(v, limit, where))
    monkeypatch.setattr(service, "oversample", 1)
    monkeypatch.setattr(service, "max_hits", 4)
    results = service.search_vector(np.ones(service.vectors.dim, dtype=np.float32), k=100)  # more than exist
    assert asked == [4] and results  # one capped call, not a widening to every image of the store
    assert MAX_IMAGE_HITS <= 1024


def test_filters_restrict_the_products(service: SearchService) -> None:
    results = service.search_image(jpeg_bytes((230, 20, 20)), k=10, where=SearchFilter(category="dress"))
    assert {r.product_id for r in results} == {"red", "blue"}
    results = service.search_image(jpeg_bytes((230, 20, 20)), k=10, where=SearchFilter(price_max=35))
    assert {r.product_id for r in results} == {"red"}


def test_vectors_without_metadata_are_left_out(service: SearchService) -> None:
    service.metadata.delete(["shop:red"])
    results = service.search_image(jpeg_bytes((230, 20, 20)), k=4)
    assert "red" not in {r.product_id for r in results} and len(results) == 3


def test_search_vector_matches_search_image(service: SearchService) -> None:
    data = jpeg_bytes((40, 170, 60))
    by_image = service.search_image(data, k=3)
    by_vector = service.search_vector(service.embed_image(data), k=3)
    assert [r.product_key for r in by_image] == [r.product_key for r in by_vector]
    with pytest.raises(ValueError):
        service.search_vector(np.zeros(8, dtype=np.float32), k=0)


def test_bad_images_are_rejected_before_embedding(service: SearchService) -> None:
    with pytest.raises(ImageRejected) as caught:
        service.search_image(png_bomb_bytes(), k=3)
    assert caught.value.reason == "pixel_bomb"


def test_best_per_product_keeps_rank_order() -> None:
    hits = [VectorHit("a1", "a", 0.9), VectorHit("b1", "b", 0.8), VectorHit("a2", "a", 0.7), VectorHit("c1", "c", 0.6)]
    assert [(k, h.image_id) for k, h in best_per_product(hits).items()] == [("a", "a1"), ("b", "b1"), ("c", "c1")]


def test_offset_pages_through_the_same_ranking(service: SearchService) -> None:
    data = jpeg_bytes((200, 40, 40))
    everything = [r.product_key for r in service.search_image(data, k=4)]
    pages = [r.product_key for offset in (0, 2) for r in service.search_image(data, k=2, offset=offset)]
    assert pages == everything
    assert service.search_image(data, k=2, offset=4) == []
    with pytest.raises(ValueError, match="offset"):
        service.search_image(data, k=2, offset=-1)


def test_similar_uses_the_stored_vectors_and_leaves_the_product_out(service: SearchService,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service.embedder, "embed", lambda images: pytest.fail("similar must not embed"))
    results = service.similar("shop:red", k=3)
    assert "red" not in {r.product_id for r in results} and len(results) == 3
    expected = [r.product_id for r in service.search_vector(service.vectors.fetch(
        [record("red").images()[0].image_id]).popitem()[1], k=4) if r.product_id != "red"]
    assert results[0].product_id == expected[0]
    assert [r.product_id for r in service.similar("shop:red", k=1, offset=1)] == [results[1].product_id]
    assert {r.product_id for r in service.similar("shop:red", k=5, where=SearchFilter(category="dress"))} == {"blue"}


def test_similar_of_an_unknown_or_unindexed_product(service: SearchService) -> None:
    with pytest.raises(UnknownProduct, match="no product"):
        service.similar("shop:nothing")
    service.metadata.upsert([ProductRecord(site="shop", product_id="bare", url="https://shop.example/bare",
                                           title="bare", image_urls=("https://shop.example/bare.jpg",))])
    with pytest.raises(UnknownProduct, match="no indexed image"):
        service.similar("shop:bare")


def test_words_lift_the_product_they_describe_over_the_photo_match(service: SearchService) -> None:
    red_photo = service.embed_image(jpeg_bytes((200, 40, 40)))
    assert service.search_hybrid(red_photo, None, k=1)[0].product_id == "red"
    fused = service.search_hybrid(red_photo, "blue", k=4)
    assert fused[0].product_id == "blue"  # in both rankings, above the photo's best match
    assert fused[0].image_id in {ref.image_id for ref in record("blue").images()}
    assert [r.score for r in fused] == sorted((r.score for r in fused), reverse=True)


def test_text_only_search_and_filters_on_both_rankings(service: SearchService) -> None:
    assert [r.product_id for r in service.search_hybrid(None, "yellow thing", k=5)] == ["yellow"]
    assert service.search_hybrid(None, "yellow", k=5)[0].image_id == record("yellow").images()[0].image_id
    red_photo = service.embed_image(jpeg_bytes((200, 40, 40)))
    both = service.search_hybrid(red_photo, "thing", k=5, where=SearchFilter(category="bag"))
    assert [r.product_id for r in both] == ["yellow"]
    pages = [r.product_id for offset in (0, 1, 2, 3) for r in service.search_hybrid(red_photo, "thing", k=1,
                                                                                    offset=offset)]
    assert sorted(pages) == ["blue", "green", "red", "yellow"]
    with pytest.raises(ValueError, match="photo, words"):
        service.search_hybrid(None, " ?! ", k=3)


def count_calls(monkeypatch: pytest.MonkeyPatch, calls: Counter[str], part: Any, name: str) -> None:
    """Count the calls of `part.name` in `calls[name]`."""
    method = getattr(part, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return method(*args, **kwargs)

    monkeypatch.setattr(part, name, counted)


def test_the_ranking_follows_photo_and_words() -> None:
    assert SearchService.ranking(True, None) == SearchService.ranking(True, " ?! ") == "image"
    assert SearchService.ranking(True, "red") == "hybrid" and SearchService.ranking(False, "red") == "text"
    with pytest.raises(ValueError, match="photo, words"):
        SearchService.ranking(False, " ")


def test_find_ranks_a_photo_alone_by_similarity_and_words_by_fusion(service: SearchService) -> None:
    photo = jpeg_bytes((200, 40, 40))
    vector = service.embed_image(photo)
    page = Page(k=2, where=SearchFilter(category="dress"), offset=1)
    assert service.find(photo, None, page) == service.search_vector(vector, 2, page.where, 1)
    assert service.find(photo, "blue", page) == service.search_hybrid(vector, "blue", 2, page.where, 1)
    assert service.find(None, "yellow", Page(k=5)) == service.search_hybrid(None, "yellow", 5)
    with pytest.raises(ValueError, match="photo, words"):
        service.find(None, None, Page())


def test_photos_found_together_equal_one_at_a_time_in_fewer_calls(service: SearchService,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [jpeg_bytes(c) for c in ((200, 40, 40), (40, 170, 60), (20, 20, 220), (120, 120, 120))]
    pages = [Page(k=2), Page(k=2), Page(k=1, offset=1, collapse=False), Page(k=2, where=SearchFilter(category="dress"))]
    alone = [service.find(data, None, page) for data, page in zip(photos, pages)]
    calls: Counter[str] = Counter()
    for part, name in ((service.embedder, "embed"), (service.vectors, "search"), (service.metadata, "get"),
                       (service.metadata, "duplicate_marks")):
        count_calls(monkeypatch, calls, part, name)
    assert service.find_photos([service.decode(data) for data in photos], pages) == alone
    assert any(alone) and calls == {"embed": 1, "search": 2, "get": 1, "duplicate_marks": 1}  # 2: (filter, depth)


def test_photos_found_together_widen_as_one_alone(service: SearchService, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    search = service.vectors.search
    monkeypatch.setattr(service.vectors, "search",
                        lambda v, limit, where=None: asked.append(limit) or search(v, limit, where))
    service.oversample = 1  # 3 image hits for k=3 cover a single product: the search widens
    photo = jpeg_bytes((230, 20, 20))
    best, _ = service.ranked(service.embed_image(photo)[None, :], 3)
    widened, asked[:] = list(asked), []
    found = service.find_photos([service.decode(photo)], [Page(k=3)])[0]
    assert asked == widened == [3, 12]  # the first search is not asked again
    assert [r.product_key for r in found] == list(best)[:3]
