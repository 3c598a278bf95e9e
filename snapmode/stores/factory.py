"""Build the configured stores: embedded files under the data dir, or the real services when URLs are set."""

from __future__ import annotations

from functools import partial

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, VectorStore


def build_vector_store(settings: Settings, dim: int, *, streaming: bool = False, serving: bool = False) -> VectorStore:
    """`streaming`: a writer fed continuously (the Storm bolt), which need not flush a Milvus server per batch.
    `serving`: a long-lived process whose embedded milvus-lite engine the other commands may attach to."""
    from snapmode.stores.milvus import MilvusVectorStore

    if settings.milvus_uri:
        return MilvusVectorStore(uri=settings.milvus_uri, collection=settings.collection, dim=dim,
                                 flush_writes=not streaming, timeout_s=settings.milvus_timeout_s)
    from snapmode.stores.lite import CLIENT_GRPC_OPTIONS, open_engine, release_engine

    path = settings.milvus_lite_path.resolve()
    return MilvusVectorStore(uri=open_engine(path, serving=serving), collection=settings.collection, dim=dim,
                             on_close=partial(release_engine, path), grpc_options=CLIENT_GRPC_OPTIONS)


def build_metadata_store(settings: Settings) -> MetadataStore:
    if settings.solr_url:
        from snapmode.stores.solr import SolrMetadataStore

        return SolrMetadataStore(settings.solr_url, auth=settings.solr_auth, timeout_s=settings.solr_timeout_s)
    from snapmode.stores.sqlite import SqliteMetadataStore

    return SqliteMetadataStore(settings.sqlite_path)


def build_stores(settings: Settings, dim: int, *, serving: bool = False) -> tuple[VectorStore, MetadataStore]:
    """The (vector store, metadata store) pair for these settings."""
    return build_vector_store(settings, dim, serving=serving), build_metadata_store(settings)
