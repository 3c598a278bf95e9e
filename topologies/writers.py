"""Writer bolts: batched upserts of embeddings into the vector store and of records into the metadata store."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from snapmode.interfaces import MetadataStore, StoreUnavailable, VectorStore
from snapmode.pipeline.steps import write_metadata, write_vectors
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.batching import BatchBolt
from snapmode.topologies.component import Counters, setup_component
from snapmode.topologies.payloads import item_from_values


def with_retries(write: Callable[[], None], *, retries: int, base_delay_s: float, counters: Counters) -> bool:
    """Run `write`, retrying `StoreUnavailable` with exponential backoff; False when every try failed."""
    for attempt in range(retries + 1):
        try:
            write()
            return True
        except StoreUnavailable as exc:
            counters.add("store_unavailable")
            counters.log.warning("writer.store_unavailable", attempt=attempt + 1, error=str(exc)[:300])
            if attempt < retries:
                time.sleep(base_delay_s * 2 ** attempt)
    return False


class WriterBolt(BatchBolt):
    """Acks a batch once its store confirmed the upsert; fails it (the spout replays) when the store stays away."""

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.settings, self.counters = setup_component(storm_conf, context)
        self.batch_size = self.settings.writer_batch_size

    def process_batch(self, tuples: list[Any]) -> None:
        decoded = [item_from_values(t.values) for t in tuples]
        ok = with_retries(lambda: self.write(decoded), retries=self.settings.store_retries, base_delay_s=0.5,
                          counters=self.counters)
        for tup in tuples:
            (self.ack if ok else self.fail)(tup)
        self.counters.add("written" if ok else "failed", len(tuples))

    def write(self, decoded: list) -> None:  # type: ignore[type-arg]
        raise NotImplementedError


class VectorWriterBolt(WriterBolt):
    """Upserts embeddings by their deterministic image id: a replay overwrites, never duplicates."""

    store: VectorStore | None = None

    def write(self, decoded: list) -> None:  # type: ignore[type-arg]
        if self.store is None:
            self.store = build_vector_store(self.settings, dim=len(decoded[0][0].vector), streaming=True)
        write_vectors(self.store, [item for item, _ in decoded])


class MetadataWriterBolt(WriterBolt):
    """Upserts each image's product record by product key."""

    store: MetadataStore | None = None

    def write(self, decoded: list) -> None:  # type: ignore[type-arg]
        if self.store is None:
            self.store = build_metadata_store(self.settings)
        write_metadata(self.store, [record for _, record in decoded])
