"""The reschedule bolt acks a record only once the retry topic has it, keyed by product key; a failed publish fails it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from snapmode.config import Settings
from snapmode.queue.messages import QueueUnavailable
from snapmode.topologies.reschedule import RescheduleBolt
from tests.topologies.harness import commands, messages, start, tup


class StandInProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, bytes]] = []
        self.away = False

    def send(self, topic: str, batch: Sequence[tuple[str | None, bytes]]) -> None:
        if self.away:
            raise QueueUnavailable("Kafka at 127.0.0.1:9092: publishing failed")
        self.sent += [(topic, key, value) for key, value in batch]


def test_acks_once_published_and_fails_when_kafka_is_away(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    producer = StandInProducer()
    monkeypatch.setattr(RescheduleBolt, "connect", lambda self, s: producer)
    bolt = start(RescheduleBolt, settings, "reschedule")
    bolt.process(tup(["shop:p1", '{"key": "shop:p1"}'], tup_id="r1"))
    assert producer.sent == [("snapmode-ingest.retry", "shop:p1", b'{"key": "shop:p1"}')]
    assert commands(messages(bolt), "ack") == [{"command": "ack", "id": "r1"}]
    producer.away = True
    bolt.process(tup(["shop:p2", '{"key": "shop:p2"}'], tup_id="r2"))
    sent = messages(bolt)
    assert commands(sent, "fail") == [{"command": "fail", "id": "r2"}] and commands(sent, "ack") == []
