"""What every queue speaks: a message, the producer and consumer interfaces, and the errors a broker raises."""

from __future__ import annotations

from collections.abc import Sequence
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
