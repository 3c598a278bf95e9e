"""Retry spout: reads the retry topic and holds each record, without taking a pending slot, until it is due; then
emits it with its retry state to the fetch bolt."""

from __future__ import annotations

import heapq
import time
from typing import Any

from streamparse import Stream

from snapmode.config import Settings
from snapmode.pipeline.steps import Rejection
from snapmode.queue.backlog import retry_note
from snapmode.queue.messages import Message
from snapmode.queue.retry import RetryEnvelope
from snapmode.topologies.payloads import REJECTION_FIELDS, RETRY_FIELDS, rejection_values
from snapmode.topologies.spout import BUSY_POLL_S, EXHAUSTED, InFlight, KafkaRecordSpout, tuple_id

HELD_MAX = 10_000  # records one task holds before it reads no further (the ones behind wait in the topic)


class KafkaRetrySpout(KafkaRecordSpout):
    """The records spout's offsets, commits and replays, on the retry topic. A record read from it waits in memory
    until its due time and is only then emitted; its offset is committed once its new try is done (indexed,
    dead-lettered, or back in the retry topic for a later try), so a crash loses no waiting record. Its notes say how
    many records wait per host, for `topology status`."""

    outputs = [Stream(RETRY_FIELDS), Stream(REJECTION_FIELDS, name=EXHAUSTED)]
    unassigned_check_s = 1.0  # the retry topic appears with the first retry

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.held: list[tuple[float, int, int, InFlight]] = []  # a heap by due time (epoch seconds)
        self.waiting: dict[str, RetryEnvelope] = {}  # held or in flight, by tuple id
        super().initialize(storm_conf, context)

    def topic_of(self, settings: Settings) -> str:
        return settings.retry_topic_name

    def take(self) -> None:
        if len(self.held) < HELD_MAX:
            for message in self.consumer.poll(timeout_s=self.poll_timeout_s(),
                                              max_records=min(500, HELD_MAX - len(self.held))):
                self.tracker.taken(message.partition, message.offset)
                self.hold(message)
        now = time.time()
        while self.held and self.held[0][0] <= now and len(self.in_flight) < self.max_pending:
            self.send(heapq.heappop(self.held)[-1])

    def poll_timeout_s(self) -> float:
        """Not past the moment the first held record is due."""
        timeout = super().poll_timeout_s()
        return max(BUSY_POLL_S, min(timeout, self.held[0][0] - time.time())) if self.held else timeout

    def hold(self, message: Message) -> None:
        """Keep the record until it is due; a message that is no envelope goes to the dead letters."""
        tid = tuple_id(message.partition, message.offset)
        text = message.value.decode("utf-8", "replace")
        try:
            envelope = RetryEnvelope.from_json(text)
        except ValueError as exc:
            rejection = Rejection(reason="invalid_record", detail=f"retry topic {self.topic} {tid}: {exc}"[:2000],
                                  product_key=message.key or None, payload=text[:10_000])
            self.in_flight[tid] = InFlight(message.partition, message.offset, message.key or "", text)
            self.emit(rejection_values(rejection), tup_id=tid, stream=EXHAUSTED)
            self.counters.add("invalid")
            return
        record = InFlight(message.partition, message.offset, envelope.key, envelope.record,
                          extra=(envelope.state.to_json(),))
        self.waiting[tid] = envelope
        heapq.heappush(self.held, (envelope.due_at, message.partition, message.offset, record))
        self.counters.add("held")

    def ack(self, tup_id: str) -> None:
        self.waiting.pop(tup_id, None)
        super().ack(tup_id)

    def note(self) -> str:
        """This task's replays, and its records per host with the end of the host's breaker cool-down."""
        hosts: dict[str, tuple[int, float | None]] = {}
        for envelope in self.waiting.values():
            count, until = hosts.get(envelope.host, (0, None))
            if envelope.breaker_open_until is not None:
                until = max(until or 0.0, envelope.breaker_open_until)
            hosts[envelope.host] = (count + 1, until)
        return retry_note(self.task_id, self.replaying(), hosts)
