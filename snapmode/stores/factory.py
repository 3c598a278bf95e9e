"""Build the configured stores: embedded files under the data dir, or the real services when URLs are set."""

from __future__ import annotations

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, VectorStore


def build_vector_store(settings: Settings, dim: int, *, streaming: bool = False) -> VectorStore:
    """`streaming`: a writer fed continuously (the Storm bolt), which need not flush a Milvus server per batch."""
    from snapmode.stores.milvus import MilvusVectorStore

    uri = settings.milvus_uri or str(settings.milvus_lite_path)
    return MilvusVectorStore(uri=uri, collection=settings.collection, dim=dim,
                             flush_writes=not (streaming and settings.milvus_uri))


def build_metadata_store(settings: Settings) -> MetadataStore:
    if settings.solr_url:
        from snapmode.stores.solr import SolrMetadataStore

        return SolrMetadataStore(settings.solr_url)
    from snapmode.stores.sqlite import SqliteMetadataStore

    return SqliteMetadataStore(settings.sqlite_path)


def build_stores(settings: Settings, dim: int) -> tuple[VectorStore, MetadataStore]:
    """The (vector store, metadata store) pair for these settings."""
    return build_vector_store(settings, dim), build_metadata_store(settings)
