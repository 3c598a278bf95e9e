"""Which Kafka offsets are safe to commit: everything below the oldest record still in flight, per partition."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass
class _Partition:
    next_offset: int  # one past the highest offset taken from the consumer
    in_flight: set[int] = field(default_factory=set)
    heap: list[int] = field(default_factory=list)  # in-flight offsets, lazily pruned of finished ones

    def oldest(self) -> int | None:
        while self.heap and self.heap[0] not in self.in_flight:
            heapq.heappop(self.heap)
        return self.heap[0] if self.heap else None


class OffsetTracker:
    """Tracks the records of each partition from the moment they are taken until they are done (written or
    dead-lettered). The committable offset is the oldest unfinished one, or one past the last taken: a crash never
    skips a record that was not done, and only replays records above it.
    """

    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}
        self._committed: dict[int, int] = {}

    def taken(self, partition: int, offset: int) -> None:
        state = self._partitions.get(partition)
        if state is None:
            state = self._partitions[partition] = _Partition(next_offset=offset + 1)
        state.next_offset = max(state.next_offset, offset + 1)
        state.in_flight.add(offset)
        heapq.heappush(state.heap, offset)

    def done(self, partition: int, offset: int) -> None:
        state = self._partitions.get(partition)
        if state is not None:
            state.in_flight.discard(offset)

    def in_flight(self) -> int:
        return sum(len(p.in_flight) for p in self._partitions.values())

    def positions(self) -> dict[int, int]:
        """The offset to commit per partition (the next record to read), moved or not."""
        return {partition: oldest if (oldest := state.oldest()) is not None else state.next_offset
                for partition, state in self._partitions.items()}

    def committable(self) -> dict[int, int]:
        """Offsets to commit per partition, only where they moved since `committed`."""
        return {p: position for p, position in self.positions().items() if self._committed.get(p) != position}

    def committed(self, offsets: dict[int, int]) -> None:
        self._committed.update(offsets)
