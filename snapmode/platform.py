"""Wire the configured parts together once: embedder, stores, ingest runner, search service."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from snapmode.config import Settings
from snapmode.embedding import build_embedder
from snapmode.interfaces import Embedder, MetadataStore, VectorStore
from snapmode.pipeline.deadletter import JsonlDeadLetter
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.steps import FetchOptions
from snapmode.stores.factory import build_stores


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
                        max_side=settings.max_image_side, max_decode_bytes=settings.max_decode_bytes,
                        concurrent_decodes=settings.concurrent_decodes, slot_wait_s=settings.decode_wait_s)


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
        vectors, metadata = build_stores(settings, embedder.dim, serving=serving)
        return cls(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)

    @property
    def limits(self) -> DecodeLimits:
        return decode_limits(self.settings)

    @property
    def dead_letter_path(self):  # type: ignore[no-untyped-def]
        return self.settings.data_dir / "dead-letter.jsonl"

    def runner(self, *, skip_indexed: bool = False) -> IngestRunner:
        s = self.settings
        return IngestRunner(embedder=self.embedder, vectors=self.vectors, metadata=self.metadata,
                            limits=self.limits,
                            fetch=FetchOptions(timeout_s=s.fetch_timeout_s, allow_private=s.allow_private_urls),
                            dead_letter=JsonlDeadLetter(self.dead_letter_path),
                            batch_size=s.embed_batch_size, workers=s.fetch_workers, skip_indexed=skip_indexed)

    @cached_property
    def search(self):  # type: ignore[no-untyped-def]
        from snapmode.search import SearchService

        return SearchService(self.embedder, self.vectors, self.metadata, self.limits)

    def close(self) -> None:
        self.vectors.close()
        self.metadata.close()
