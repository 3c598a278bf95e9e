"""Dead-letter bolt: publishes every rejection, with its reason, to the dead-letter topic, then acks it."""

from __future__ import annotations

from typing import Any

from streamparse import Bolt

from snapmode.queue.deadletters import KafkaDeadLetter
from snapmode.topologies.component import setup_component
from snapmode.topologies.payloads import rejection_from_values


class DeadLetterBolt(Bolt):
    """Acks a rejection only once Kafka has it (acks=all); a failed publish fails the tuple, which replays."""

    auto_ack = False

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        settings, self.counters = setup_component(storm_conf, context)
        self.sink = KafkaDeadLetter(settings)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        rejection = rejection_from_values(tup.values)
        try:
            self.sink.send(rejection)
        except Exception as exc:  # noqa: BLE001 - Kafka away: the record replays later
            self.counters.log.warning("deadletter.publish_failed", error=repr(exc))
            self.fail(tup)
            return
        self.counters.log.warning("topology.dead_lettered", reason=rejection.reason, detail=rejection.detail[:300],
                                  product=rejection.product_key, url=rejection.url)
        self.counters.add(f"dead_lettered.{rejection.reason}")
        self.ack(tup)
