"""Embed bolt: decoded images in, one batched forward pass, embeddings out to both writers."""

from __future__ import annotations

import time
from typing import Any

from streamparse import Stream

from snapmode.platform import build_embedder
from snapmode.pipeline.steps import PreparedImage, embed_images
from snapmode.topologies.batching import BatchBolt
from snapmode.topologies.component import setup_component
from snapmode.topologies.handoff import build_handoff
from snapmode.topologies.payloads import ITEM_FIELDS, item_values, prepared_from_values


class EmbedBolt(BatchBolt):
    """Loads the model once per process (CUDA when present), embeds images in batches of `embed_batch_size`."""

    outputs = [Stream(ITEM_FIELDS)]

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

    def process_batch(self, tuples: list[Any]) -> None:
        started = time.perf_counter()
        tuples, prepared = self.load(tuples)
        if not tuples:
            return
        try:
            items = embed_images(self.embedder, prepared)
        except Exception as exc:  # noqa: BLE001 - the batch replays; a record failing every time is dead-lettered
            self.counters.log.exception("embed.error", batch=len(tuples), error=repr(exc))
            for tup in tuples:
                self.fail(tup)
            return
        for tup, item, p in zip(tuples, items, prepared):
            self.emit(item_values(item, p.record), anchors=[tup])
        for tup in tuples:
            self.ack(tup)
        self.counters.add("embedded", len(items))
        self.counters.add("embed_ms", round((time.perf_counter() - started) * 1000))

    def process_tick(self, tup) -> None:  # type: ignore[no-untyped-def]
        super().process_tick(tup)
        if time.monotonic() - self.swept_at >= self.stale_s:
            self.sweep()

    def sweep(self) -> None:
        """Remove handoff files left by tuples that never reached an embed bolt (their worker died)."""
        self.swept_at = time.monotonic()
        if self.handoff is not None and (removed := self.handoff.sweep(self.stale_s)):
            self.counters.log.info("embed.handoff_swept", directory=str(self.handoff.directory), files=removed)

    def load(self, tuples: list[Any]) -> tuple[list[Any], list[PreparedImage]]:
        """The tuples whose image could be read, with their images; the others are failed (the spout replays them)."""
        kept, prepared = [], []
        for tup in tuples:
            try:
                prepared.append(prepared_from_values(tup.values, self.handoff))
                kept.append(tup)
            except Exception as exc:  # noqa: BLE001 - a handoff file gone, a corrupt payload
                self.counters.log.warning("embed.unreadable", image_id=tup.values[0], error=repr(exc)[:300])
                self.counters.add("unreadable")
                self.fail(tup)
        return kept, prepared
