"""Store fixtures, parametrized over every implementation: the same contract test body runs against each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.interfaces import MetadataStore, VectorStore
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore

DIM = 16


def _lite_vectors(tmp_path: Path) -> VectorStore:
    return MilvusVectorStore(uri=str(tmp_path / "vectors.db"), collection="contract", dim=DIM)


def _sqlite_metadata(tmp_path: Path) -> MetadataStore:
    return SqliteMetadataStore(tmp_path / "metadata.sqlite")


VECTOR_STORES = {"milvus-lite": _lite_vectors}
METADATA_STORES = {"sqlite": _sqlite_metadata}


@pytest.fixture(params=sorted(VECTOR_STORES))
def vector_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    store = VECTOR_STORES[request.param](tmp_path)
    yield store
    store.close()


@pytest.fixture(params=sorted(METADATA_STORES))
def metadata_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    store = METADATA_STORES[request.param](tmp_path)
    yield store
    store.close()
