"""Contract tests that every `VectorStore` and `MetadataStore` implementation must pass."""

from __future__ import annotations

import numpy as np
import pytest

from snapmode.interfaces import IndexMismatch, MetadataStore, SearchFilter, VectorItem, VectorStore
from snapmode.records import ProductRecord
from snapmode.stores.collections import Collections
from snapmode.stores.lite import is_lite_uri
from snapmode.stores.milvus import MilvusVectorStore
from tests.stores.conftest import DIM


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def item(i: int, category: str = "dress", price: float = 10.0) -> VectorItem:
    return VectorItem(image_id=f"{i:032x}", product_key=f"shop:{i // 2}", vector=unit(i), site="shop",
                      category=category, brand="Acme", colour="red", price=price)


def record(pid: str, **kw: object) -> ProductRecord:
    data: dict[str, object] = {"site": "shop", "product_id": pid, "url": f"https://shop.example/{pid}",
                               "title": f"Product {pid}", "image_urls": [f"https://shop.example/{pid}.jpg"]}
    data.update(kw)
    return ProductRecord.from_dict(data)


def test_vector_upsert_twice_keeps_one_copy(vector_store: VectorStore) -> None:
    items = [item(i) for i in range(6)]
    vector_store.upsert(items)
    vector_store.upsert(items)
    assert vector_store.count() == 6


def test_vector_insert_of_new_images_stores_them_as_upsert_does(vector_store: VectorStore) -> None:
    vector_store.insert([item(i) for i in range(6)])
    vector_store.upsert([item(i) for i in range(4, 8)])
    assert vector_store.count() == 8
    assert vector_store.search(unit(2)[None], k=1)[0][0].image_id == f"{2:032x}"


def test_a_swap_points_the_name_at_another_collection(vector_store: VectorStore) -> None:
    """A real alias on a server, a row of `snapmode_aliases` on milvus-lite: the same moves either way."""
    assert isinstance(vector_store, MilvusVectorStore)
    name, uri = vector_store.name, vector_store.uri
    vector_store.upsert([item(0)])
    collections = Collections(vector_store.client, name, lite=is_lite_uri(uri))
    assert collections.active() == vector_store.collection
    built = MilvusVectorStore(uri=uri, collection=f"{name}__1", dim=DIM, model_id="other:v1")  # a reindex's
    built.upsert([item(1), item(2)])
    built.close()

    assert collections.swap(f"{name}__1") == f"{name}__0"  # a server's first swap renames the collection
    assert collections.active() == f"{name}__1" and collections.physicals() == [f"{name}__0", f"{name}__1"]
    reopened = MilvusVectorStore(uri=uri, collection=name, dim=DIM, model_id="other:v1")
    try:
        assert reopened.collection == f"{name}__1" and reopened.count() == 2
    finally:
        reopened.close()
    with pytest.raises(IndexMismatch, match=rf"{name} \(collection {name}__1\) was made by other:v1"):
        MilvusVectorStore(uri=uri, collection=name, dim=DIM, model_id="third:v1")
    assert collections.swap(f"{name}__0") == f"{name}__1" and collections.active() == f"{name}__0"


def test_vector_search_finds_itself_first(vector_store: VectorStore) -> None:
    vector_store.upsert([item(i) for i in range(10)])
    hits = vector_store.search(np.stack([unit(3), unit(7)]), k=3)
    assert [h[0].image_id for h in hits] == [f"{3:032x}", f"{7:032x}"]
    assert hits[0][0].product_key == "shop:1"
    assert abs(hits[0][0].score - 1.0) < 1e-3
    assert hits[0][0].score >= hits[0][1].score >= hits[0][2].score


def test_vector_search_applies_filters(vector_store: VectorStore) -> None:
    vector_store.upsert([item(i, category="dress" if i % 2 else "shoe", price=float(i)) for i in range(12)])
    hits = vector_store.search(unit(4)[None], k=12, where=SearchFilter(category="dress"))[0]
    assert hits and all(int(h.image_id, 16) % 2 == 1 for h in hits)
    hits = vector_store.search(unit(4)[None], k=12, where=SearchFilter(price_min=3, price_max=6))[0]
    assert sorted(int(h.image_id, 16) for h in hits) == [3, 4, 5, 6]


def test_vector_replacement_and_delete(vector_store: VectorStore) -> None:
    vector_store.upsert([item(1), item(2)])
    moved = VectorItem(image_id=f"{1:032x}", product_key="shop:0", vector=unit(99), category="hat")
    vector_store.upsert([moved])
    assert vector_store.search(unit(99)[None], k=1)[0][0].image_id == f"{1:032x}"
    vector_store.delete([f"{2:032x}"])
    assert vector_store.count() == 1


def test_metadata_upsert_get_and_replace(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record("a", price=5.0), record("b")])
    metadata_store.upsert([record("a", price=7.0, title="Blue denim jacket")])
    assert metadata_store.count() == 2
    got = metadata_store.get(["shop:a", "shop:missing"])
    assert list(got) == ["shop:a"] and got["shop:a"].price == 7.0


def test_metadata_text_query_and_filters(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([
        record("1", title="Red striped summer dress", brand="Luma", category="dress", price=40.0),
        record("2", title="Red leather boots", brand="Stride", category="shoe", price=90.0),
        record("3", title="Navy summer shorts", brand="Luma", category="trousers", price=25.0),
    ])
    assert {r.product_id for r in metadata_store.query("summer")} == {"1", "3"}
    assert {r.product_id for r in metadata_store.query("red", SearchFilter(category="shoe"))} == {"2"}
    assert {r.product_id for r in metadata_store.query(None, SearchFilter(brand="Luma", price_max=30))} == {"3"}
    assert {r.product_id for r in metadata_store.query('luma" *')} == {"1", "3"}  # query syntax is inert


def test_metadata_delete(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record("x"), record("y")])
    metadata_store.delete(["shop:x"])
    assert metadata_store.count() == 1
    assert [r.product_id for r in metadata_store.query("Product")] == ["y"]
    assert metadata_store.get(["shop:x"]) == {}


def test_vector_fetch_returns_stored_vectors(vector_store: VectorStore) -> None:
    vector_store.upsert([item(i) for i in range(4)])
    got = vector_store.fetch([f"{1:032x}", f"{3:032x}", f"{99:032x}"])
    assert sorted(got) == [f"{1:032x}", f"{3:032x}"]
    assert np.allclose(got[f"{3:032x}"], unit(3), atol=1e-6) and got[f"{3:032x}"].dtype == np.float32
    assert vector_store.fetch([]) == {}


def test_metadata_query_pages_with_offset(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record(str(i), title=f"Wool hat {i}", category="hat") for i in range(7)])
    everything = [r.key for r in metadata_store.query(None, limit=20)]
    pages = [r.key for offset in (0, 3, 6) for r in metadata_store.query(None, limit=3, offset=offset)]
    assert pages == everything and len(everything) == 7
    ranked = [r.key for r in metadata_store.query("wool", limit=20)]
    assert [r.key for r in metadata_store.query("wool", limit=4, offset=4)] == ranked[4:]
    assert metadata_store.query("wool", offset=50) == []


def test_metadata_facets_count_values_and_price_range(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([
        record("1", category="dress", brand="Luma", colour="red", price=40.0),
        record("2", category="dress", brand="Stride", colour="blue", price=90.5),
        record("3", category="hat", brand="Luma", colour="red", price=12.0),
        record("4", site="other", category="hat"),  # no brand, colour or price
    ])
    facets = metadata_store.facets()
    assert facets.total == 4
    assert [(f.value, f.count) for f in facets.categories] == [("dress", 2), ("hat", 2)]
    assert [(f.value, f.count) for f in facets.brands] == [("Luma", 2), ("Stride", 1)]
    assert [(f.value, f.count) for f in facets.colours] == [("red", 2), ("blue", 1)]
    assert [(f.value, f.count) for f in facets.sites] == [("shop", 3), ("other", 1)]
    assert (facets.price_min, facets.price_max) == (12.0, 90.5)
    dresses = metadata_store.facets(SearchFilter(category="dress"))
    assert dresses.total == 2 and [f.value for f in dresses.categories] == ["dress"]
    assert (dresses.price_min, dresses.price_max) == (40.0, 90.5)
    none = metadata_store.facets(SearchFilter(brand="nobody"))
    assert none.total == 0 and none.categories == () and none.price_min is None


def test_metadata_keeps_duplicate_marks_with_the_record(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record("a"), record("b")], duplicates={"shop:b": "shop:a"})
    assert metadata_store.duplicate_marks(["shop:a", "shop:b", "shop:none"]) == {"shop:a": None, "shop:b": "shop:a"}
    metadata_store.upsert([record("b", price=3.0)])  # a version written without a mark is unmarked
    assert metadata_store.duplicate_marks(["shop:b"]) == {"shop:b": None}
    metadata_store.upsert([record("b", price=4.0)], duplicates={"shop:b": "shop:a"})
    metadata_store.delete(["shop:b"])
    assert metadata_store.duplicate_marks(["shop:b"]) == {}
