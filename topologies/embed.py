"""Embed bolt: products' decoded images in, batched forward passes across products, each product's embeddings out to
both writers."""

from __future__ import annotations

import time
from typing import Any

from streamparse import Stream

from snapmode.pipeline.steps import embed_images
from snapmode.platform import build_embedder
from snapmode.topologies.batching import BatchBolt
from snapmode.topologies.component import setup_component
from snapmode.topologies.handoff import build_handoff
from snapmode.topologies.payloads import VECTORS_FIELDS, ProductImages, product_from_values, vectors_values


class EmbedBolt(BatchBolt[ProductImages]):
    """Loads the model once per process (CUDA when present), embeds the images of the products it holds once they
    reach `embed_batch_size`, and emits one tuple per product, anchored to the product's."""

    outputs = [Stream(VECTORS_FIELDS)]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        settings, self.counters = setup_component(storm_conf, context)
        self.batch_size = settings.embed_batch_size
        self.handoff = build_handoff(settings)
        self.stale_s = settings.message_timeout_s  # a handoff file this old belongs to a record replayed since
        self.swept_at = 0.0
        self.sweep()
        started = time.perf_counter()
        self.embedder = build_embedder(settings)
        self.counters.log.info("embed.model_loaded", embedder=self.embedder.name, dim=self.embedder.dim,
                               seconds=round(time.perf_counter() - started, 2))

    def read(self, tup: Any) -> ProductImages | None:
        """The product and its images; a tuple whose images cannot be read is failed (the spout replays it)."""
        try:
            return product_from_values(tup.values, self.handoff)
        except Exception as exc:  # noqa: BLE001 - a handoff file gone, a corrupt payload
            self.counters.log.warning("embed.unreadable", product=tup.values[0], error=repr(exc)[:300])
            self.counters.add("unreadable")
            self.fail(tup)
            return None

    def size(self, entry: ProductImages) -> int:
        return len(entry.images)

    def process_batch(self, batch: list[tuple[Any, ProductImages]]) -> None:
        started = time.perf_counter()
        try:
            items = embed_images(self.embedder, [image for _, product in batch for image in product.images])
        except Exception as exc:  # noqa: BLE001 - the batch replays; a record failing every time is dead-lettered
            self.counters.log.exception("embed.error", batch=len(batch), error=repr(exc))
            for tup, _ in batch:
                self.fail(tup)
            return
        at = 0
        for tup, product in batch:
            n = len(product.images)
            self.emit(vectors_values(product.record.key, product.record_json, items[at:at + n]), anchors=[tup])
            at += n
        for tup, _ in batch:
            self.ack(tup)
        seconds = time.perf_counter() - started
        self.counters.add("embedded", len(items))
        self.counters.add("embed_ms", round(seconds * 1000))
        self.counters.batch(len(items), "embed", seconds)

    def process_tick(self, tup) -> None:  # type: ignore[no-untyped-def]
        super().process_tick(tup)
        if time.monotonic() - self.swept_at >= self.stale_s:
            self.sweep()

    def sweep(self) -> None:
        """Remove handoff files left by tuples that never reached an embed bolt (their worker died)."""
        self.swept_at = time.monotonic()
        if self.handoff is not None and (removed := self.handoff.sweep(self.stale_s)):
            self.counters.log.info("embed.handoff_swept", directory=str(self.handoff.directory), files=removed)
