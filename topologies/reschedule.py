"""Reschedule bolt: publishes each record whose images failed transiently to the retry topic, then acks it, which
frees its spout's pending slot."""

from __future__ import annotations

from typing import Any

from streamparse import Bolt

from snapmode.config import Settings
from snapmode.queue.kafka import KafkaProducerQueue
from snapmode.topologies.component import setup_component


class RescheduleBolt(Bolt):
    """Acks a record only once the retry topic has it (acks=all), keyed by its product key; a failed publish fails
    the tuple, and its spout replays the record in place later."""

    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        settings, self.counters = setup_component(storm_conf, context)
        self.topic = settings.retry_topic_name
        self.producer = self.connect(settings)

    def connect(self, settings: Settings) -> KafkaProducerQueue:
        return KafkaProducerQueue(settings)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        key, envelope = tup.values
        try:
            self.producer.send(self.topic, [(key, envelope.encode())])
        except Exception as exc:  # noqa: BLE001 - Kafka away: the spout replays the record later
            self.counters.log.warning("reschedule.publish_failed", key=key, error=repr(exc)[:300])
            self.fail(tup)
            return
        self.counters.add("rescheduled")
        self.ack(tup)
