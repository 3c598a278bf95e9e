"""Fetch bolt: parse a record, fetch and decode its images; refused ones go to the dead letters, transient ones replay;
tombstones go to the deletion bolt."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from streamparse import Bolt, Stream

from snapmode.pipeline.fetch import Fetcher
from snapmode.pipeline.options import decode_limits, fetch_options
from snapmode.pipeline.steps import PreparedImage, Rejection, parse_record, prepare_or_reject
from snapmode.records import Tombstone
from snapmode.retries import FailingSince
from snapmode.topologies.component import setup_component
from snapmode.topologies.handoff import build_handoff
from snapmode.topologies.payloads import (PRODUCT_FIELDS, REJECTION_FIELDS, TOMBSTONE_FIELDS, product_values,
                                          rejection_values, tombstone_values)

REJECTED = "rejected"
DELETED = "deleted"


class FetchBolt(Bolt):
    """One record in, one anchored tuple with the product's decoded images out. A record whose images may succeed
    later (timeout, HTTP 503) is failed as a whole, so the spout replays it, until those images have failed for
    `fetch_retry_window_s`: then they are dead-lettered and the rest goes on. A malformed record or a refused image is
    dead-lettered."""

    outputs = [Stream(PRODUCT_FIELDS), Stream(REJECTION_FIELDS, name=REJECTED),
               Stream(TOMBSTONE_FIELDS, name=DELETED)]
    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        settings, self.counters = setup_component(storm_conf, context)
        self.limits = decode_limits(settings)
        self.fetcher = Fetcher(fetch_options(settings))  # published records: http(s), local files under file_roots
        self.pool = ThreadPoolExecutor(settings.fetch_workers, thread_name_prefix="fetch")
        self.handoff = build_handoff(settings)  # None: images travel inline
        self.failing = FailingSince(settings.fetch_retry_window_s)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        key, raw = tup.values
        try:
            outcomes = self.prepare(key, raw)
        except Exception as exc:  # noqa: BLE001 - no retry cures it (transient failures are rejections): dead-lettered
            self.counters.log.exception("fetch.error", key=key, error=repr(exc))
            outcomes = [Rejection(reason="unexpected_error", detail=f"{type(exc).__name__}: {exc}"[:2000],
                                  product_key=key or None, payload=raw[:10_000])]
        transient = [o for o in outcomes if isinstance(o, Rejection) and o.retryable]
        self.failing.succeeded([o.ref.image_id for o in outcomes if isinstance(o, PreparedImage)])
        if transient and len(self.failing.failed([o.image_id or "" for o in transient])) < len(transient):
            self.counters.log.warning("fetch.transient", key=key, reason=transient[0].reason,
                                      detail=transient[0].detail[:300])
            self.counters.add("transient")
            self.fail(tup)
            return
        if transient:  # failing for longer than the window: dead-lettered below, the rest of the product indexed
            self.counters.add("given_up", len(transient))
        for outcome in outcomes:
            if isinstance(outcome, Tombstone):
                self.emit(tombstone_values(outcome), stream=DELETED, anchors=[tup])
                self.counters.add("tombstones")
            elif isinstance(outcome, Rejection):
                self.emit(rejection_values(outcome), stream=REJECTED, anchors=[tup])
                self.counters.add("rejected")
        if prepared := [o for o in outcomes if isinstance(o, PreparedImage)]:
            self.emit(product_values(prepared, self.handoff), anchors=[tup])
            self.counters.add("images", len(prepared))
        self.ack(tup)

    def prepare(self, key: str, raw: str) -> list[PreparedImage | Rejection | Tombstone]:
        """The record's images, prepared concurrently, or the record's own rejection when it is malformed, or the
        tombstone itself."""
        record = parse_record(raw, origin=f"kafka key {key!r}")
        if isinstance(record, Rejection):
            return [replace(record, product_key=key or None)]
        if isinstance(record, Tombstone):
            return [record]
        return list(self.pool.map(lambda ref: prepare_or_reject(record, ref, self.limits, self.fetcher),
                                  record.images()))
