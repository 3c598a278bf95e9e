"""A bolt base that reads each tuple once as it comes, and handles what it read as a batch when the batch is full or
when a tick tuple arrives."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from streamparse import Bolt

E = TypeVar("E")  # what a tuple holds, once read


class BatchBolt(Bolt, Generic[E]):
    """Subclasses set `batch_size` in `initialize` and implement `read(tup)` and `process_batch(batch)`, which acks
    or fails every tuple it is given; `size` says how much of a batch an entry fills (1 unless overridden). The
    component's tick tuple bounds how long a partial batch waits."""

    auto_ack = False
    batch_size = 32

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.pending: list[tuple[Any, E]] = []
        self.filled = 0

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        entry = self.read(tup)
        if entry is None:
            return
        self.pending.append((tup, entry))
        self.filled += self.size(entry)
        if self.filled >= self.batch_size:
            self.flush()

    def process_tick(self, tup) -> None:  # type: ignore[no-untyped-def]
        self.flush()

    def flush(self) -> None:
        batch, self.pending, self.filled = self.pending, [], 0
        if batch:
            self.process_batch(batch)

    def read(self, tup: Any) -> E | None:
        """What the tuple holds; None when it cannot be read (the subclass failed it)."""
        raise NotImplementedError

    def size(self, entry: E) -> int:
        return 1

    def process_batch(self, batch: list[tuple[Any, E]]) -> None:
        raise NotImplementedError
