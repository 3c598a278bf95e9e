"""Backup and restore of both stores, through their interfaces: every product and vector comes back after the stores
are lost, and the same query finds the same products. Embedded here; on the native cluster's Milvus server and Solr
in the integration run."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from snapmode.interfaces import MetadataStore, VectorItem, VectorStore
from snapmode.records import ProductRecord
from snapmode.stores import backup as backups
from snapmode.stores.backup import BackupError
from snapmode.stores.milvus import MilvusVectorStore
from tests.stores.conftest import DIM


def catalog(n: int = 30) -> list[ProductRecord]:
    return [ProductRecord(site="shop", product_id=f"p{i:03d}", url=f"https://shop.example/p{i}", title=f"Thing {i}",
                          category=["hat", "bag", "dress"][i % 3], brand="Acme", colour="red", price=10.0 + i,
                          image_urls=(f"https://shop.example/p{i}/0.jpg", f"https://shop.example/p{i}/1.jpg"),
                          crawled_at=datetime(2026, 1, 1, tzinfo=timezone.utc)) for i in range(n)]


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def fill(vectors: VectorStore, metadata: MetadataStore, records: list[ProductRecord]) -> None:
    metadata.upsert(records, {records[1].key: records[0].key})  # p001 duplicates p000
    vectors.upsert([VectorItem.from_record(r, ref.image_id, vector(n * 2 + j))
                    for n, r in enumerate(records) for j, ref in enumerate(r.images())])


def wipe(vectors: VectorStore, metadata: MetadataStore, tmp_path: Path) -> tuple[VectorStore, MetadataStore]:
    """The stores as after a lost volume: empty, tombstones and all."""
    assert isinstance(vectors, MilvusVectorStore)
    uri, collection = vectors.uri, vectors.collection
    vectors.client.drop_collection(collection)
    if not uri.startswith("http"):  # milvus-lite: one client per file
        vectors.close()
    fresh_vectors = MilvusVectorStore(uri=uri, collection=collection, dim=DIM)
    if hasattr(metadata, "_solr"):
        metadata._solr.delete(q="*:*", commit=True)  # type: ignore[attr-defined]
        return fresh_vectors, metadata
    from snapmode.stores.sqlite import SqliteMetadataStore

    metadata.close()
    path = tmp_path / "restored.sqlite"
    return fresh_vectors, SqliteMetadataStore(path)


def top(vectors: VectorStore, n: int = 5) -> list[list[str]]:
    return [[h.image_id for h in hits] for hits in vectors.search(np.stack([vector(s) for s in range(n)]), 5)]


def test_a_backup_restores_every_product_and_vector(vector_store: VectorStore, metadata_store: MetadataStore,
                                                    tmp_path: Path) -> None:
    records = catalog()
    fill(vector_store, metadata_store, records)
    before = top(vector_store)
    done: list[int] = []
    made = backups.backup(vector_store, metadata_store, tmp_path / "backup", model_id="m", dim=DIM,
                          on_progress=done.append)
    assert (made.products, made.images, sum(done)) == (30, 60, 30)

    vectors, metadata = wipe(vector_store, metadata_store, tmp_path)
    assert vectors.count() == 0 and metadata.count() == 0
    try:
        backups.restore(vectors, metadata, tmp_path / "backup", model_id="m", dim=DIM)
        assert metadata.count() == 30 and vectors.count() == 60
        assert metadata.get([r.key for r in records]) == {r.key: r for r in records}
        assert metadata.duplicate_marks([records[1].key, records[2].key]) == {records[1].key: records[0].key,
                                                                              records[2].key: None}
        assert top(vectors) == before
        hits = vectors.search(vector(4)[None, :], 1, where=None)[0]
        assert hits[0].product_key == records[2].key  # vector 4 is p002's first image
    finally:
        if vectors is not vector_store:
            vectors.close()
        if metadata is not metadata_store:
            metadata.close()


def test_a_backup_of_another_model_is_refused(vector_store: VectorStore, metadata_store: MetadataStore,
                                             tmp_path: Path) -> None:
    fill(vector_store, metadata_store, catalog(3))
    backups.backup(vector_store, metadata_store, tmp_path / "b", model_id="old-model", dim=DIM)
    with pytest.raises(BackupError, match="old-model"):
        backups.restore(vector_store, metadata_store, tmp_path / "b", model_id="new-model", dim=DIM)
    with pytest.raises(BackupError, match="not empty"):
        backups.backup(vector_store, metadata_store, tmp_path / "b", model_id="old-model", dim=DIM)
    with pytest.raises(BackupError, match="holds no backup"):
        backups.restore(vector_store, metadata_store, tmp_path, model_id="old-model", dim=DIM)
