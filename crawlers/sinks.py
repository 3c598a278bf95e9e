"""Where validated records and tombstones go: Kafka, a JSONL file, or a callable in this process (the embedded
pipeline)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from snapmode.config import Settings
from snapmode.records import Versioned

OnSent = Callable[[], None]
OnFailed = Callable[[Exception], None]


class Submitter(Protocol):
    """What `KafkaSink` needs of a producer (`snapmode.queue.kafka.KafkaProducerQueue`)."""

    def submit(self, topic: str, key: str | None, value: bytes, on_sent: OnSent, on_failed: OnFailed) -> None: ...

    def close(self) -> None: ...


class RecordSink(Protocol):
    """`send` reports the outcome through exactly one of the callbacks, maybe later and from another thread."""

    def send(self, record: Versioned, on_sent: OnSent, on_failed: OnFailed) -> None: ...

    def close(self) -> None: ...


class KafkaSink:
    """Publishes each record as JSON to the records topic, keyed by the product key, acknowledged by all in-sync
    replicas, through SnapMode's one idempotent producer (`snapmode.queue.kafka.KafkaProducerQueue`): a send that the broker
    stored but whose answer was lost is retried without a duplicate, and one product's records keep their order."""

    def __init__(self, settings: Settings, topic: str | None = None, *, producer: Submitter | None = None) -> None:
        from snapmode.queue.kafka import KafkaProducerQueue

        self.topic = topic or settings.records_topic
        self.producer = producer or KafkaProducerQueue(settings)

    def send(self, record: Versioned, on_sent: OnSent, on_failed: OnFailed) -> None:
        self.producer.submit(self.topic, record.key, record.to_json().encode(), on_sent, on_failed)

    def close(self) -> None:
        self.producer.close()


class JsonlSink:
    """Writes one record per line to a file, replacing what was there."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def send(self, record: Versioned, on_sent: OnSent, on_failed: OnFailed) -> None:
        try:
            self._file.write(record.to_json() + "\n")
        except OSError as exc:
            on_failed(exc)
            return
        on_sent()

    def close(self) -> None:
        self._file.close()


class CallableSink:
    """Hands each record to a function in this process; an exception it raises counts as a failed send."""

    def __init__(self, consume: Callable[[Versioned], None], close: Callable[[], None] | None = None) -> None:
        self.consume = consume
        self._close = close

    def send(self, record: Versioned, on_sent: OnSent, on_failed: OnFailed) -> None:
        try:
            self.consume(record)
        except Exception as exc:  # noqa: BLE001 - the consumer's failure is this record's failure
            on_failed(exc)
            return
        on_sent()

    def close(self) -> None:
        if self._close is not None:
            self._close()
