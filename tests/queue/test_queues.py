"""Queue contract: the same tests against the in-process broker and the real Kafka of the native cluster."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from snapmode.config import Settings
from snapmode.queue.kafka import KafkaConsumerQueue, KafkaProducerQueue
from snapmode.queue.memory import MemoryBroker
from snapmode.queue.messages import Consumer, Message, Producer, QueueUnavailable
from tests.cluster import NativeCluster


@dataclass
class Queue:
    producer: Producer
    consumer: Callable[[str, str], Consumer]  # (topic, group) -> a new member of the group


def _poll_all(consumer: Consumer, want: int, rounds: int = 20) -> list[Message]:
    got: list[Message] = []
    for _ in range(rounds):
        got += consumer.poll(timeout_s=1.0)
        if len(got) >= want:
            break
    return got


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
def queue(request: pytest.FixtureRequest) -> Iterator[Queue]:
    opened: list[Consumer] = []
    if request.param == "memory":
        broker = MemoryBroker()
        producer: Producer = broker.producer()

        def member(topic: str, group: str) -> Consumer:
            opened.append(broker.consumer([topic], group))
            return opened[-1]
    else:
        cluster: NativeCluster = request.getfixturevalue("native_cluster")
        settings = Settings(kafka_bootstrap=cluster.kafka_bootstrap, _env_file=None)  # type: ignore[call-arg]
        producer = KafkaProducerQueue(settings)

        def member(topic: str, group: str) -> Consumer:
            opened.append(KafkaConsumerQueue(settings, [topic], group))
            return opened[-1]
    yield Queue(producer, member)
    for consumer in opened:
        consumer.close()
    producer.close()


def topic() -> str:
    return f"snapmode.test.{uuid.uuid4().hex[:10]}"


def test_produce_then_consume_in_order(queue: Queue) -> None:
    name = topic()
    queue.producer.send(name, [("shop:1", b"one"), ("shop:2", b"two"), (None, b"three")])
    got = _poll_all(queue.consumer(name, "g1"), 3)
    assert [(m.key, m.value) for m in got] == [("shop:1", b"one"), ("shop:2", b"two"), (None, b"three")]
    assert [m.offset for m in got] == [0, 1, 2]


def test_a_new_member_resumes_after_the_last_commit(queue: Queue) -> None:
    name = topic()
    queue.producer.send(name, [(f"k{i}", f"m{i}".encode()) for i in range(6)])
    first = queue.consumer(name, "indexers")
    got = _poll_all(first, 6)
    first.commit(got[3])  # processed m0..m3, then stopped
    first.close()
    second = queue.consumer(name, "indexers")
    assert [m.value for m in _poll_all(second, 2)] == [b"m4", b"m5"]
    other_group = queue.consumer(name, "auditors")
    assert len(_poll_all(other_group, 6)) == 6  # each group has its own offsets


def test_a_member_that_fails_midway_leaves_the_rest_to_the_next(queue: Queue) -> None:
    """At least once: commit after each processed message, so what a failed member had not finished is seen again."""
    name = topic()
    queue.producer.send(name, [(None, f"m{i}".encode()) for i in range(5)])
    seen: list[bytes] = []
    worker = queue.consumer(name, "g")
    for message in _poll_all(worker, 5):
        if message.value == b"m3":
            break  # the store is down: m3 and m4 stay uncommitted
        seen.append(message.value)
        worker.commit(message)
    worker.close()  # the failed worker leaves its group; the next member takes over its partitions
    assert seen == [b"m0", b"m1", b"m2"]
    retry = queue.consumer(name, "g")
    assert [m.value for m in _poll_all(retry, 2)] == [b"m3", b"m4"]


def test_unreachable_kafka_is_a_retryable_error(free_port: int) -> None:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port}", kafka_timeout_s=2.0, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(QueueUnavailable, match=f"127.0.0.1:{free_port}"):
        KafkaProducerQueue(settings).send("t", [(None, b"x")])
