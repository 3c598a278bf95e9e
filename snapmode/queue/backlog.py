"""What the ingestion still has to do, from Kafka alone: records not yet done per partition (lag), records the spout
is replaying, dead letters by reason. `snapmode topology status` shows it beside Storm's own statistics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from snapmode.queue.deadletters import by_reason, topic_letters
from snapmode.queue.kafka import PartitionLag, group_lag

if TYPE_CHECKING:
    from snapmode.config import Settings


def spout_note(task: int, retrying: int) -> str:
    """What a spout task stores with its committed offsets: how many of its records wait for or are in a replay."""
    return json.dumps({"task": task, "retrying": retrying})


def retrying_of(partitions: Sequence[PartitionLag]) -> int:
    """Records being retried, over every spout task (each notes its own count on each of its partitions)."""
    by_task: dict[int, int] = {}
    for partition in partitions:
        try:
            note = json.loads(partition.metadata)
            by_task[int(note["task"])] = int(note["retrying"])
        except (ValueError, TypeError, KeyError):
            continue  # committed by something else, or before spouts noted anything
    return sum(by_task.values())


@dataclass(frozen=True, slots=True)
class Backlog:
    lag: dict[int, int]  # records not done yet, per partition of the records topic
    retrying: int  # records the spout replays after a transient failure (a store away, a tuple lost)
    dead_letters: dict[str, int]  # letters of the dead-letter topic by reason

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "total_lag": self.total_lag}


def backlog(settings: Settings, name: str | None = None) -> Backlog:
    """The backlog of the topology `name` (its consumer group) on the settings' records and dead-letter topics."""

    partitions = group_lag(settings, settings.records_topic, group=name or settings.topology_name)
    return Backlog(lag={p.partition: p.lag for p in partitions}, retrying=retrying_of(partitions),
                   dead_letters=by_reason(topic_letters(settings)))
