"""Every Kafka client of SnapMode, built from the settings (acks=all, idempotent producers, consumer groups that commit
after processing): the crawler's sink, `snapmode publish` and `delete`, the dead letters and the topology's spout."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snapmode.queue.messages import Message, QueueError, QueueUnavailable

if TYPE_CHECKING:
    from snapmode.config import Settings


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


def _client_config(settings: Settings) -> dict[str, object]:
    return {"bootstrap_servers": settings.kafka_bootstrap.split(","), "client_id": settings.kafka_client_id,
            "bootstrap_timeout_ms": int(settings.kafka_timeout_s * 1000)}


def producer_config(settings: Settings) -> dict[str, object]:
    """Every SnapMode producer's configuration: acknowledged by all in-sync replicas, and idempotent, so a retried
    send is stored once and a key's records stay in order through retries."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    return {**_client_config(settings), "acks": "all", "enable_idempotence": True, "retries": 5,
            "max_in_flight_requests_per_connection": 5, "linger_ms": settings.kafka_linger_ms,
            "max_block_ms": timeout_ms, "request_timeout_ms": timeout_ms,
            "delivery_timeout_ms": max(120_000, timeout_ms + settings.kafka_linger_ms)}


def consumer_config(settings: Settings, group: str) -> dict[str, object]:
    """Every SnapMode consumer's configuration: a member of `group` that commits only what it is told to (at least
    once), starts a new group at the oldest record, and refreshes metadata within seconds, so it sees a topic or
    partitions created after it started."""
    return {**_client_config(settings), "group_id": group, "enable_auto_commit": False,
            "auto_offset_reset": "earliest", "metadata_max_age_ms": 5000,
            "request_timeout_ms": int(settings.kafka_timeout_s * 1000) + 5000}


class KafkaProducerQueue:
    """An idempotent Kafka producer that waits for every in-sync replica (acks=all): `send` returns once all of its
    messages are acknowledged; `submit` reports one message's outcome later, through a callback."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaProducer

        self.bootstrap = settings.kafka_bootstrap
        self.timeout_s = settings.kafka_timeout_s
        with _kafka_errors("connecting a producer", self.bootstrap):
            self._producer = KafkaProducer(**producer_config(settings))

    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        with _kafka_errors(f"publishing to {topic}", self.bootstrap):
            futures = [self._producer.send(topic, key=_key(key), value=value) for key, value in messages]
            self._producer.flush(timeout=self.timeout_s)
            for future in futures:
                future.get(timeout=self.timeout_s)

    def submit(self, topic: str, key: str | None, value: bytes, on_sent: Callable[[], None],
               on_failed: Callable[[Exception], None]) -> None:
        """Queue one message without waiting; exactly one callback reports its outcome, maybe from the producer's
        I/O thread."""
        try:
            future = self._producer.send(topic, key=_key(key), value=value)
        except Exception as exc:  # noqa: BLE001 - buffer full, broker metadata unavailable, ...
            on_failed(exc)
            return
        future.add_callback(lambda _metadata: on_sent())
        future.add_errback(on_failed)

    def close(self) -> None:
        """Deliver what is queued (waiting up to the timeout), then disconnect."""
        with _kafka_errors("delivering the last messages", self.bootstrap):
            self._producer.close(timeout=self.timeout_s)


def _key(key: str | None) -> bytes | None:
    return key.encode() if key is not None else None


class KafkaConsumerQueue:
    """A member of consumer group `group`, subscribed to `topics` (or, with none, reading the partitions it is told
    to `assign`); offsets are committed only by `commit`/`commit_offsets`."""

    def __init__(self, settings: Settings, topics: Sequence[str], group: str) -> None:
        from kafka import KafkaConsumer

        self.bootstrap = settings.kafka_bootstrap
        with _kafka_errors(f"joining group {group}", self.bootstrap):
            self._consumer = KafkaConsumer(*topics, **consumer_config(settings, group))
        self._polled: dict[tuple[str, int], int] = {}

    def partitions(self, topic: str) -> set[int]:
        """The topic's partitions; empty while it does not exist."""
        with _kafka_errors(f"reading the partitions of {topic}", self.bootstrap):
            return set(self._consumer.partitions_for_topic(topic) or ())

    def assign(self, topic: str, partitions: Sequence[int]) -> None:
        """Read exactly these partitions (no group rebalancing), from the group's committed offsets."""
        from kafka.structs import TopicPartition

        self._consumer.assign([TopicPartition(topic, p) for p in partitions])

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        with _kafka_errors("polling", self.bootstrap):
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out = [Message(r.topic, r.partition, r.offset, r.key.decode("utf-8", "replace") if r.key is not None
                       else None, r.value) for records in batches.values() for r in records]
        for m in out:
            self._polled[(m.topic, m.partition)] = m.offset
        return out

    def commit(self, upto: Message | None = None) -> None:
        last = {(upto.topic, upto.partition): upto.offset} if upto is not None else dict(self._polled)
        for topic in {t for t, _ in last}:
            self.commit_offsets(topic, {p: o + 1 for (t, p), o in last.items() if t == topic})

    def commit_offsets(self, topic: str, next_offsets: Mapping[int, int], metadata: str = "") -> None:
        """Commit, per partition of `topic`, the offset of the next record to read: everything before it is done.
        `metadata` is stored with each offset (the spout notes its retries there, see snapmode/backlog.py)."""
        from kafka.structs import OffsetAndMetadata, TopicPartition

        if not next_offsets:
            return
        offsets = {TopicPartition(topic, p): OffsetAndMetadata(o, metadata, -1) for p, o in next_offsets.items()}
        with _kafka_errors("committing offsets", self.bootstrap):
            self._consumer.commit(offsets)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


@dataclass(frozen=True, slots=True)
class PartitionLag:
    partition: int
    start: int  # the oldest offset still in the partition
    end: int  # one past the newest record
    committed: int | None  # the group's next record to read; None: nothing committed yet
    metadata: str = ""  # what the committer stored with the offset

    @property
    def lag(self) -> int:
        """Records the group has not finished."""
        return self.end - max(self.start, self.committed if self.committed is not None else self.start)


def group_lag(settings: Settings, topic: str, group: str) -> list[PartitionLag]:
    """The committed offsets of `group` on each partition of `topic` against the partition's ends, read without
    joining the group (nothing is rebalanced). [] when the topic does not exist."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    with _kafka_errors(f"reading the offsets of {group} on {topic}", settings.kafka_bootstrap):
        consumer = KafkaConsumer(**consumer_config(settings, group))
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                return []
            start, end = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
            out = []
            for tp in partitions:
                committed = consumer.committed(tp, metadata=True)
                out.append(PartitionLag(tp.partition, start[tp], end[tp], committed.offset if committed else None,
                                        (committed.metadata or "") if committed else ""))
            return out
        finally:
            consumer.close(autocommit=False)


def read_topic(settings: Settings, topic: str) -> list[Message]:
    """Every message of `topic`, from the first offset of each partition to its end when called, as one reader of no
    group: nothing is committed, other readers are not disturbed. [] when the topic does not exist."""
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    with _kafka_errors(f"reading {topic}", settings.kafka_bootstrap):
        consumer = KafkaConsumer(**{**consumer_config(settings, group="unused"), "group_id": None})
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                return []
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            out: list[Message] = []
            while left := [tp for tp in partitions if consumer.position(tp) < end[tp]]:
                batches = consumer.poll(timeout_ms=int(settings.kafka_timeout_s * 1000))
                if not batches:
                    raise QueueUnavailable(f"Kafka at {settings.kafka_bootstrap}: no message of {topic} within "
                                           f"{settings.kafka_timeout_s:g} s, {len(left)} partitions not read to the "
                                           "end")
                out += [Message(r.topic, r.partition, r.offset, r.key.decode("utf-8", "replace") if r.key is not None
                                else None, r.value) for tp, records in batches.items() for r in records
                        if r.offset < end[tp]]
            return sorted(out, key=lambda m: (m.partition, m.offset))
        finally:
            consumer.close(autocommit=False)
