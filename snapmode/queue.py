"""Messages between crawlers and the indexing pipeline: Kafka (acks=all, consumer groups, commit after processing)
and an in-process stand-in with the same interface."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from snapmode.interfaces import StoreError, StoreUnavailable


class QueueError(StoreError):
    """The broker refused a request."""


class QueueUnavailable(StoreUnavailable):
    """The broker could not be reached or did not acknowledge in time: retry, nothing was lost or committed."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


class Producer(Protocol):
    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        """Publish (key, value) pairs; returns once every one is acknowledged, or raises."""
        ...

    def close(self) -> None: ...


class Consumer(Protocol):
    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        """The next messages of the group's partitions ([] when none arrived within `timeout_s`)."""
        ...

    def commit(self, upto: Message | None = None) -> None:
        """Mark everything polled (or everything up to and including `upto` in its partition) as processed."""
        ...

    def close(self) -> None: ...


def consume(consumer: Consumer, handle: Callable[[Message], None], *, max_messages: int | None = None,
            idle_timeout_s: float = 5.0) -> int:
    """Hand each message to `handle`, committing after each one it processed; stops when idle. Returns the count.

    When `handle` raises, nothing after the last processed message is committed: the group sees it again.
    """
    done = 0
    while max_messages is None or done < max_messages:
        batch = consumer.poll(timeout_s=idle_timeout_s, max_records=500 if max_messages is None
                              else max_messages - done)
        if not batch:
            break
        for message in batch:
            handle(message)
            consumer.commit(message)
            done += 1
    return done


# -- Kafka -------------------------------------------------------------------------------------------------------

@contextmanager
def _kafka_errors(what: str, bootstrap: str) -> Iterator[None]:
    from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    try:
        yield
    except (KafkaTimeoutError, KafkaConnectionError) as exc:
        raise QueueUnavailable(f"Kafka at {bootstrap}: {what} failed: {exc}") from exc
    except KafkaError as exc:
        kind = QueueUnavailable if getattr(exc, "retriable", False) else QueueError
        raise kind(f"Kafka at {bootstrap}: {what} failed: {exc}") from exc


def producer_config(bootstrap: str, *, linger_ms: int = 5, max_block_ms: int = 30_000,
                    **extra: object) -> dict[str, object]:
    """Every SnapMode producer's configuration: acknowledged by all in-sync replicas, and idempotent, so a retried
    send is stored once and a key's records stay in order through retries."""
    return {"bootstrap_servers": bootstrap.split(","), "acks": "all", "enable_idempotence": True, "retries": 5,
            "max_in_flight_requests_per_connection": 5, "linger_ms": linger_ms, "max_block_ms": max_block_ms,
            "client_id": "snapmode", **extra}


class KafkaProducerQueue:
    """An idempotent Kafka producer that waits for every in-sync replica (acks=all) before `send` returns."""

    def __init__(self, bootstrap: str, *, timeout_s: float = 30.0, linger_ms: int = 5) -> None:
        from kafka import KafkaProducer

        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        with _kafka_errors("connecting a producer", bootstrap):
            self._producer = KafkaProducer(**producer_config(bootstrap, linger_ms=linger_ms,
                                                             max_block_ms=int(timeout_s * 1000),
                                                             request_timeout_ms=int(timeout_s * 1000),
                                                             bootstrap_timeout_ms=int(timeout_s * 1000)))

    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        with _kafka_errors(f"publishing to {topic}", self.bootstrap):
            futures = [self._producer.send(topic, key=key.encode() if key is not None else None, value=value)
                       for key, value in messages]
            self._producer.flush(timeout=self.timeout_s)
            for future in futures:
                future.get(timeout=self.timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=self.timeout_s)


class KafkaConsumerQueue:
    """A member of consumer group `group` on `topics`; offsets are committed only by `commit`."""

    def __init__(self, bootstrap: str, topics: Sequence[str], group: str, *, from_beginning: bool = True,
                 timeout_s: float = 30.0) -> None:
        from kafka import KafkaConsumer

        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        with _kafka_errors(f"joining group {group}", bootstrap):
            self._consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap.split(","), group_id=group,
                                           enable_auto_commit=False, client_id="snapmode",
                                           auto_offset_reset="earliest" if from_beginning else "latest",
                                           request_timeout_ms=int(timeout_s * 1000) + 5000,
                                           bootstrap_timeout_ms=int(timeout_s * 1000))
        self._polled: dict[tuple[str, int], int] = {}

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        with _kafka_errors("polling", self.bootstrap):
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out = [Message(r.topic, r.partition, r.offset, r.key.decode() if r.key is not None else None, r.value)
               for records in batches.values() for r in records]
        for m in out:
            self._polled[(m.topic, m.partition)] = m.offset
        return out

    def commit(self, upto: Message | None = None) -> None:
        from kafka.structs import OffsetAndMetadata, TopicPartition

        last = {(upto.topic, upto.partition): upto.offset} if upto is not None else dict(self._polled)
        if not last:
            return
        offsets = {TopicPartition(t, p): OffsetAndMetadata(o + 1, "", -1) for (t, p), o in last.items()}
        with _kafka_errors("committing offsets", self.bootstrap):
            self._consumer.commit(offsets)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


# -- In process ---------------------------------------------------------------------------------------------------

class MemoryBroker:
    """Topics of one partition each and committed offsets per group, shared by its producers and consumers."""

    def __init__(self) -> None:
        self.topics: dict[str, list[Message]] = defaultdict(list)
        self.committed: dict[tuple[str, str], int] = defaultdict(int)  # (group, topic) -> next offset
        self.lock = threading.Lock()

    def producer(self) -> MemoryProducer:
        return MemoryProducer(self)

    def consumer(self, topics: Sequence[str], group: str) -> MemoryConsumer:
        return MemoryConsumer(self, topics, group)


class MemoryProducer:
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        with self.broker.lock:
            log = self.broker.topics[topic]
            start = len(log)
            log.extend([Message(topic, 0, start + i, key, value) for i, (key, value) in enumerate(messages)])

    def close(self) -> None:
        pass


class MemoryConsumer:
    def __init__(self, broker: MemoryBroker, topics: Sequence[str], group: str) -> None:
        self.broker, self.topics, self.group = broker, list(topics), group
        with broker.lock:
            self._position = {t: broker.committed[(group, t)] for t in self.topics}

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        out: list[Message] = []
        with self.broker.lock:
            for topic in self.topics:
                fresh = self.broker.topics[topic][self._position[topic]:][:max_records - len(out)]
                self._position[topic] += len(fresh)
                out.extend(fresh)
        return out

    def commit(self, upto: Message | None = None) -> None:
        with self.broker.lock:
            if upto is not None:
                self.broker.committed[(self.group, upto.topic)] = upto.offset + 1
            else:
                for topic, position in self._position.items():
                    self.broker.committed[(self.group, topic)] = position

    def close(self) -> None:
        pass
