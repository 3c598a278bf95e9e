"""Build the configured stores: embedded files under the data dir, or the real services when URLs are set."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, VectorStore

Endpoint = tuple[str, dict[str, object], Callable[[], None] | None]  # (URI, gRPC options, release)


def build_vector_store(settings: Settings, dim: int, *, model_id: str | None = None, streaming: bool = False,
                       serving: bool = False, collection: str | None = None) -> VectorStore:
    """`model_id`: the embedder's, which the index must have been made by (None: any model of dimension `dim`).
    `streaming`: a writer fed continuously (the Storm bolt), which need not flush a Milvus server per batch.
    `serving`: a long-lived process whose embedded milvus-lite engine the other commands may attach to.
    `collection`: another collection than the settings' (a reindex's new one)."""
    return _milvus(settings, milvus_endpoint(settings, serving=serving), dim=dim, model_id=model_id,
                   streaming=streaming, collection=collection or settings.collection)


def existing_vector_store(settings: Settings, *, streaming: bool = False) -> VectorStore | None:
    """The vector store at the dimension its collection records (of any model), for a caller that only reads or
    deletes and so needs no embedder; None while no collection exists yet. `streaming` as in `build_vector_store`."""
    from snapmode.stores.milvus import recorded_identity

    uri, options, on_close = endpoint = milvus_endpoint(settings)
    store: VectorStore | None = None
    try:
        identity = recorded_identity(uri, settings.collection, timeout_s=settings.milvus_timeout_s,
                                     grpc_options=options)
        if identity is not None:
            store = _milvus(settings, endpoint, dim=identity.dim, streaming=streaming, collection=settings.collection)
    finally:
        if store is None and on_close is not None:
            on_close()  # no collection, or it could not be opened: the engine is not kept for it
    return store


def _milvus(settings: Settings, endpoint: Endpoint, *, dim: int, model_id: str | None = None,
            streaming: bool, collection: str) -> VectorStore:
    from snapmode.stores.milvus import MilvusVectorStore
    from snapmode.stores.vector_index import VectorIndex

    uri, options, on_close = endpoint
    return MilvusVectorStore(uri=uri, collection=collection, dim=dim, model_id=model_id,
                             index=VectorIndex.from_settings(settings),
                             flush_writes=not (streaming and settings.milvus_uri), timeout_s=settings.milvus_timeout_s,
                             on_close=on_close, grpc_options=options)


def milvus_endpoint(settings: Settings, *, serving: bool = False) -> Endpoint:
    """(URI, gRPC options, release) of the configured Milvus: the server's, or this data dir's milvus-lite engine
    (this process's, or a serving process's that it attaches to; `release` lets it go)."""
    if settings.milvus_uri:
        return settings.milvus_uri, {}, None
    from snapmode.stores.lite import CLIENT_GRPC_OPTIONS, open_engine, release_engine

    path = settings.milvus_lite_path.resolve()
    return open_engine(path, serving=serving), CLIENT_GRPC_OPTIONS, partial(release_engine, path)


def build_metadata_store(settings: Settings) -> MetadataStore:
    if settings.solr_url:
        from snapmode.stores.solr import SolrMetadataStore

        return SolrMetadataStore(settings.solr_url, auth=settings.solr_auth, timeout_s=settings.solr_timeout_s)
    from snapmode.stores.sqlite import SqliteMetadataStore

    return SqliteMetadataStore(settings.sqlite_path)


def build_stores(settings: Settings, dim: int, *, model_id: str | None = None,
                 serving: bool = False) -> tuple[VectorStore, MetadataStore]:
    """The (vector store, metadata store) pair for these settings; `model_id` as in `build_vector_store`."""
    return build_vector_store(settings, dim, model_id=model_id, serving=serving), build_metadata_store(settings)
