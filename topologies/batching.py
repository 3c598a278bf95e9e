"""A bolt base that collects tuples and handles them as a batch when it is full or when a tick tuple arrives."""

from __future__ import annotations

from typing import Any

from streamparse import Bolt


class BatchBolt(Bolt):
    """Subclasses set `batch_size` in `initialize` and implement `process_batch(tuples)`, which acks or fails every
    tuple it is given. The component's tick tuple bounds how long a partial batch waits."""

    auto_ack = False
    batch_size = 32

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.pending: list[Any] = []

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        self.pending.append(tup)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def process_tick(self, tup) -> None:  # type: ignore[no-untyped-def]
        self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            self.process_batch(batch)

    def process_batch(self, tuples: list[Any]) -> None:
        raise NotImplementedError
