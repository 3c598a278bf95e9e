"""Fetch bolt: parse a record, fetch and decode its images; refused ones go to the dead letters, records with images
that may succeed later to the retry topic; tombstones go to the deletion bolt."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from streamparse import Bolt, Stream

from snapmode.pipeline.breaker import BreakerFetcher, HostBreakers, HostState, host_of
from snapmode.pipeline.options import decode_limits, fetch_options
from snapmode.pipeline.steps import PreparedImage, Rejection, parse_record, prepare_or_reject
from snapmode.queue.retry import RetryEnvelope, RetryState
from snapmode.records import Tombstone
from snapmode.retries import Backoff
from snapmode.topologies.component import setup_component
from snapmode.topologies.handoff import build_handoff
from snapmode.topologies.payloads import (ENVELOPE_FIELDS, PRODUCT_FIELDS, REJECTION_FIELDS, TOMBSTONE_FIELDS,
                                          product_values, rejection_values, tombstone_values)

REJECTED = "rejected"
DELETED = "deleted"
RETRY = "retry"

Outcome = PreparedImage | Rejection | Tombstone


class FetchBolt(Bolt):
    """One record in, one anchored tuple with the product's decoded images out. A record with images that may succeed
    later (connection refused, timeout, HTTP 503, their host's breaker open) goes to the retry topic as a whole and
    is acked, so the records behind it flow on; it comes back after a growing delay, until those images have failed
    for `fetch_retry_window_s`: then they are dead-lettered and the rest goes on. A malformed record or a refused image
    is dead-lettered."""

    outputs = [Stream(PRODUCT_FIELDS), Stream(REJECTION_FIELDS, name=REJECTED),
               Stream(TOMBSTONE_FIELDS, name=DELETED), Stream(ENVELOPE_FIELDS, name=RETRY)]
    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        settings, self.counters = setup_component(storm_conf, context)
        self.limits = decode_limits(settings)
        self.breakers = HostBreakers(settings.host_breaker_failures, settings.host_breaker_cooldown_s,
                                     on_change=self.breaker_changed)
        # published records: http(s), local files under file_roots
        self.fetcher = BreakerFetcher(fetch_options(settings), self.breakers)
        self.pool = ThreadPoolExecutor(settings.fetch_workers, thread_name_prefix="fetch")
        self.handoff = build_handoff(settings)  # None: images travel inline
        self.window_s = settings.fetch_retry_window_s
        self.delays = Backoff(first_s=settings.fetch_retry_delay_s, cap_s=settings.fetch_retry_max_delay_s)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        key, raw, *retry = tup.values
        try:
            outcomes = self.prepare(key, raw)
        except Exception as exc:  # noqa: BLE001 - no retry cures it (transient failures are rejections): dead-lettered
            self.counters.log.exception("fetch.error", key=key, error=repr(exc))
            outcomes = [Rejection(reason="unexpected_error", detail=f"{type(exc).__name__}: {exc}"[:2000],
                                  product_key=key or None, payload=raw[:10_000])]
        transient = [o for o in outcomes if isinstance(o, Rejection) and o.retryable]
        if transient:
            now = time.time()
            state = (RetryState.from_json(retry[0]) if retry else RetryState()).after(
                [o.image_id or "" for o in transient], now)
            if not state.given_up(self.window_s, now):
                self.reschedule(tup, key, raw, state, transient[0], now)
                return
            self.counters.add("given_up", len(transient))  # dead-lettered below, the rest of the product indexed
            retried = {id(o) for o in transient}
            outcomes = [given_up(o, state, now) if id(o) in retried else o for o in outcomes]
        self.emit_outcomes(tup, outcomes)
        self.ack(tup)

    def reschedule(self, tup, key: str, raw: str, state: RetryState, first: Rejection,  # type: ignore[no-untyped-def]
                   now: float) -> None:
        """Send the record to the retry topic, due after the delay of its try (and not before its host's breaker
        lets a probe through)."""
        host = host_of(first.url or "")
        until = self.breakers.open_until(host) if host else None
        due = max(now + self.delays.delay(state.attempts), until or 0.0)
        envelope = RetryEnvelope(key=key, record=raw, state=state, due_at=due, host=host, reason=first.reason,
                                 breaker_open_until=until)
        self.emit([key, envelope.to_json()], stream=RETRY, anchors=[tup])
        self.counters.add("rescheduled")
        self.ack(tup)

    def emit_outcomes(self, tup, outcomes: list[Outcome]) -> None:  # type: ignore[no-untyped-def]
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

    def prepare(self, key: str, raw: str) -> list[Outcome]:
        """The record's images, prepared concurrently, or the record's own rejection when it is malformed, or the
        tombstone itself."""
        record = parse_record(raw, origin=f"kafka key {key!r}")
        if isinstance(record, Rejection):
            return [replace(record, product_key=key or None)]
        if isinstance(record, Tombstone):
            return [record]
        return list(self.pool.map(lambda ref: prepare_or_reject(record, ref, self.limits, self.fetcher),
                                  record.images()))

    def breaker_changed(self, host: str, state: HostState) -> None:
        if state.open_until:
            self.counters.log.warning("fetch.breaker_open", host=host, failures=state.failures,
                                      until=iso(state.open_until), reason=state.last_reason,
                                      detail=state.last_detail)
        else:
            self.counters.log.info("fetch.breaker_closed", host=host)


def given_up(rejection: Rejection, state: RetryState, now: float) -> Rejection:
    """The image's rejection as dead-lettered after the window: since when it failed, after how many tries."""
    since = state.failing.get(rejection.image_id or "", now)
    return replace(rejection, detail=f"{rejection.detail} (failing since {iso(since)}, {state.attempts} tries)"[:2000])


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="seconds")
