"""Every vector index the settings offer, on milvus-lite and on the Milvus server: a collection is made with the
configured index, searched with that index's parameters, and keeps its index when reopened with other settings;
milvus-lite refuses the kinds it cannot build, and each engine has its own default."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from snapmode.config import Settings
from snapmode.interfaces import StoreError, VectorItem
from snapmode.stores.lite import is_lite_uri
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.vector_index import INDEX_TYPES, LITE_DEFAULT, LITE_INDEX_TYPES, SERVER_DEFAULT, VectorIndex

DIM = 32
BACKENDS = ["milvus-lite", pytest.param("milvus-server", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(uri, collection) on one backend; the server's collection dropped afterwards."""
    collection = f"index_{uuid.uuid4().hex[:10]}"
    if request.param == "milvus-lite":
        yield str(tmp_path / "vectors.db"), collection
        return
    uri = request.getfixturevalue("native_cluster").milvus_uri
    yield uri, collection
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri)
    client.drop_collection(collection)
    client.close()


def items(n: int, seed: int = 0) -> list[VectorItem]:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [VectorItem(image_id=f"i{i}", product_key=f"shop:p{i}", vector=v) for i, v in enumerate(vectors)]


def test_index_parameters_follow_the_settings() -> None:
    settings = Settings(vector_index="IVF_SQ8", ivf_nlist=256, search_nprobe=8, search_ef=64,
                        _env_file=None)  # type: ignore[call-arg]
    index = VectorIndex.from_settings(settings)
    assert index.build_params() == {"nlist": 256}
    assert index.search_params("IVF_SQ8", k=10)["params"] == {"nprobe": 8}
    assert index.search_params("HNSW", k=10)["params"] == {"ef": 64}
    assert index.search_params("HNSW", k=200)["params"] == {"ef": 200}  # never fewer candidates than results
    assert VectorIndex(kind="HNSW", hnsw_m=24).build_params() == {"M": 24, "efConstruction": 128}
    assert VectorIndex(kind="FLAT").search_params("FLAT", k=5)["params"] == {}
    with pytest.raises(ValueError):
        Settings(vector_index="IVF_PQ", _env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("kind", INDEX_TYPES)
def test_each_index_finds_each_vector_and_stays_when_reopened(place: tuple[str, str], kind: str) -> None:
    uri, collection = place
    rows = items(300)
    index = VectorIndex(kind=kind, ivf_nlist=8, search_nprobe=8)  # type: ignore[arg-type]
    if is_lite_uri(uri) and kind not in LITE_INDEX_TYPES:
        with pytest.raises(StoreError, match=f"milvus-lite builds .* not {kind}: unset SNAPMODE_VECTOR_INDEX"):
            MilvusVectorStore(uri=uri, collection=collection, dim=DIM, index=index)
        reopened = MilvusVectorStore(uri=uri, collection=collection, dim=DIM)
        try:
            assert reopened.built == LITE_DEFAULT  # nothing was made by the refused one
        finally:
            reopened.close()
        return
    store = MilvusVectorStore(uri=uri, collection=collection, dim=DIM, index=index)
    try:
        store.upsert(rows)
        hits = store.search(np.stack([r.vector for r in rows[:20]]), k=3)
        assert [h[0].image_id for h in hits] == [r.image_id for r in rows[:20]]
        assert store.client.describe_index(store.collection, index_name="vector")["index_type"] == kind
    finally:
        store.close()
    other = "FLAT" if kind != "FLAT" else "HNSW"
    reopened = MilvusVectorStore(uri=uri, collection=collection, dim=DIM, index=VectorIndex(kind=other))
    try:
        assert reopened.built == kind  # searched with its own index's parameters, not the new settings'
        assert reopened.search(np.stack([rows[7].vector]), k=1)[0][0].image_id == "i7"
    finally:
        reopened.close()


def test_each_engine_has_its_default_index(place: tuple[str, str]) -> None:
    uri, collection = place
    store = MilvusVectorStore(uri=uri, collection=collection, dim=DIM, index=VectorIndex())
    try:
        want = LITE_DEFAULT if is_lite_uri(uri) else SERVER_DEFAULT
        assert store.built == want
        assert store.client.describe_index(store.collection, index_name="vector")["index_type"] == want
    finally:
        store.close()
