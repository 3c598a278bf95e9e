"""Store fixtures, parametrized over every implementation: the same contract test body runs against each.

The embedded stores run everywhere; the real ones (Milvus server, Solr) run as `integration` tests against the
session's native cluster, each test on an empty collection or core.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from snapmode.interfaces import MetadataStore, VectorStore
from snapmode.stores.collections import Collections
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.cluster import NativeCluster

DIM = 16


def _lite_vectors(tmp_path: Path) -> VectorStore:
    return MilvusVectorStore(uri=str(tmp_path / "vectors.db"), collection="contract", dim=DIM)


def _sqlite_metadata(tmp_path: Path) -> MetadataStore:
    return SqliteMetadataStore(tmp_path / "metadata.sqlite")


def _server_vectors(cluster: NativeCluster) -> VectorStore:
    return MilvusVectorStore(uri=cluster.milvus_uri, collection=f"contract_{uuid.uuid4().hex[:12]}", dim=DIM)


def _drop_server_vectors(store: VectorStore) -> None:
    """Drop the store's collection, and its alias and numbered collections if a test made them."""
    assert isinstance(store, MilvusVectorStore)
    collections = Collections(store.client, store.name)
    if collections.active() not in (None, store.name):
        store.client.drop_alias(store.name)
    for physical in {store.collection, *collections.physicals()}:
        if store.client.has_collection(physical):
            store.client.drop_collection(physical)


def _solr_metadata(cluster: NativeCluster) -> MetadataStore:
    from snapmode.stores.solr import SolrMetadataStore

    store = SolrMetadataStore(cluster.core_url)
    store._solr.delete(q="*:*", commit=True)  # an empty core for each test
    return store


VECTOR_STORES = {"milvus-lite": _lite_vectors}
METADATA_STORES = {"sqlite": _sqlite_metadata}
# Real services: (open on the native cluster, clean up after the test)
SERVER_VECTOR_STORES: dict[str, tuple[Callable[[NativeCluster], VectorStore], Callable[[VectorStore], None]]] = {
    "milvus-server": (_server_vectors, _drop_server_vectors)}
SERVER_METADATA_STORES: dict[str, tuple[Callable[[NativeCluster], MetadataStore], Callable[[MetadataStore], None]]] = {
    "solr": (_solr_metadata, lambda store: None)}


def _params(embedded: dict[str, object], servers: dict[str, object]) -> list[object]:
    return [*sorted(embedded), *(pytest.param(name, marks=pytest.mark.integration) for name in sorted(servers))]


def _open(request: pytest.FixtureRequest, tmp_path: Path, embedded: dict, servers: dict) -> Iterator:  # type: ignore[type-arg]
    if request.param in servers:
        open_store, clean_up = servers[request.param]
        store = open_store(request.getfixturevalue("native_cluster"))
        yield store
        clean_up(store)
    else:
        store = embedded[request.param](tmp_path)
        yield store
    store.close()


@pytest.fixture(params=_params(VECTOR_STORES, SERVER_VECTOR_STORES))
def vector_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    yield from _open(request, tmp_path, VECTOR_STORES, SERVER_VECTOR_STORES)


@pytest.fixture(params=_params(METADATA_STORES, SERVER_METADATA_STORES))
def metadata_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    yield from _open(request, tmp_path, METADATA_STORES, SERVER_METADATA_STORES)
