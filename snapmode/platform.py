"""Wire the configured parts together once: embedder, stores, ingest runner, search service."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from snapmode.config import Settings
from snapmode.embedding import build_embedder
from snapmode.interfaces import Embedder, MetadataStore, VectorStore
from snapmode.pipeline.deadletter import JsonlDeadLetter, dead_letter_file
from snapmode.retries import Backoff
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.fetch import FetchOptions
from snapmode.stores.factory import build_stores


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
                        max_side=settings.max_image_side, max_decode_bytes=settings.max_decode_bytes,
                        concurrent_decodes=settings.concurrent_decodes, slot_wait_s=settings.decode_wait_s,
                        time_limit_s=settings.decode_timeout_s, max_jpeg_scans=settings.max_jpeg_scans)


def fetch_options(settings: Settings, *, allow_files: bool = False) -> FetchOptions:
    """How images are fetched; `allow_files` only for local ingestion of the user's own folders."""
    return FetchOptions(timeout_s=settings.fetch_timeout_s, deadline_s=settings.fetch_deadline_s,
                        allow_private=settings.allow_private_urls, allow_files=allow_files,
                        file_roots=tuple(settings.file_roots),
                        per_host=settings.fetch_per_host, max_redirects=settings.crawl_max_redirects)


@dataclass
class Platform:
    settings: Settings
    embedder: Embedder
    vectors: VectorStore
    metadata: MetadataStore

    @classmethod
    def build(cls, settings: Settings, *, serving: bool = False) -> Platform:
        """`serving`: this process will serve the API, and shares its embedded stores with other commands."""
        embedder = build_embedder(settings)
        vectors, metadata = build_stores(settings, embedder.dim, model_id=embedder.model_id, serving=serving)
        return cls(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)

    @property
    def limits(self) -> DecodeLimits:
        return decode_limits(self.settings)

    @property
    def dead_letter_path(self) -> Path:
        return dead_letter_file(self.settings)

    def runner(self, *, skip_indexed: bool = False, allow_files: bool = True,
               kind: type[IngestRunner] = IngestRunner) -> IngestRunner:
        """An ingest runner; `allow_files` reads file:// images, as `snapmode ingest PATH` does for the user's own
        folders and catalogs. Pass False for records that came from anywhere else (a crawl, a queue). `kind`: a
        runner that writes otherwise (a reindex's, into its new collection only)."""
        s = self.settings
        return kind(embedder=self.embedder, vectors=self.vectors, metadata=self.metadata,
                    limits=self.limits, fetch=fetch_options(s, allow_files=allow_files),
                    dead_letter=JsonlDeadLetter(self.dead_letter_path),
                    batch_size=s.embed_batch_size, workers=s.fetch_workers, skip_indexed=skip_indexed,
                    backoff=Backoff.from_settings(s), duplicate_similarity=s.duplicate_similarity)

    @cached_property
    def search(self):  # type: ignore[no-untyped-def]
        from snapmode.search import SearchService

        return SearchService(self.embedder, self.vectors, self.metadata, self.limits,
                             hybrid_depth=self.settings.hybrid_depth, rrf_k=self.settings.rrf_k)

    def close(self) -> None:
        self.vectors.close()
        self.metadata.close()
