"""What the ingestion still has to do, from Kafka alone: records not yet done per partition (lag), records being
retried (the records waiting for their hosts in the retry topic, per host, among them), dead letters by reason.
`snapmode topology status` shows it beside Storm's own statistics."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

from snapmode.queue.deadletters import by_reason, topic_letters
from snapmode.queue.kafka import PartitionLag, group_lag

if TYPE_CHECKING:
    from snapmode.config import Settings


def spout_note(task: int, retrying: int) -> str:
    """What a spout task stores with its committed offsets: how many of its records wait for or are in a replay."""
    return json.dumps({"task": task, "retrying": retrying})


NOTE_BYTES = 3000  # a note stays under Kafka's limit on offset metadata (`offset.metadata.max.bytes`, 4096)


def retry_note(task: int, retrying: int, hosts: Mapping[str, tuple[int, float | None]]) -> str:
    """What a retry spout task stores with its committed offsets: its own replays, and the records it holds per host
    with the end of the host's breaker cool-down when it was open (the hosts with most records, as many as fit)."""
    note: dict[str, object] = {"task": task, "retrying": retrying, "waiting": sum(n for n, _ in hosts.values())}
    shown: dict[str, list[object]] = {}
    for host, (records, until) in sorted(hosts.items(), key=lambda item: (-item[1][0], item[0])):
        shown[host] = [records, until]
        if len(json.dumps({**note, "hosts": shown})) > NOTE_BYTES:
            del shown[host]
            break
    return json.dumps({**note, "hosts": shown})


def _notes(partitions: Sequence[PartitionLag]) -> list[dict[str, object]]:
    """The latest note of each spout task (each notes the same on each of its partitions)."""
    by_task: dict[int, dict[str, object]] = {}
    for partition in partitions:
        try:
            note = json.loads(partition.metadata)
            by_task[int(note["task"])] = {**note, "retrying": int(note["retrying"])}
        except (ValueError, TypeError, KeyError):
            continue  # committed by something else, or before spouts noted anything
    return list(by_task.values())


def retrying_of(partitions: Sequence[PartitionLag]) -> int:
    """Records being retried, over every spout task (each notes its own count on each of its partitions)."""
    return sum(int(note["retrying"]) for note in _notes(partitions))  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class HostWaiting:
    """A host's records in the retry topic, and its breaker as the fetch bolts last saw it: `open` (nothing is fetched
    from it until `open_until`), `half-open` (the cool-down is over: the next record probes it) or `closed` (failing,
    fewer times in a row than the threshold)."""

    records: int
    breaker: Literal["open", "half-open", "closed"] = "closed"
    open_until: float | None = None  # epoch seconds


def waiting_of(partitions: Sequence[PartitionLag], now: float) -> tuple[int, dict[str, HostWaiting]]:
    """Records held in the retry topic over every retry spout task, and per host (those the notes had room for)."""
    total, records, until = 0, dict[str, int](), dict[str, float]()
    for note in _notes(partitions):
        total += int(note.get("waiting", 0))  # type: ignore[call-overload]
        hosts = note.get("hosts")
        for host, (count, open_until) in (hosts.items() if isinstance(hosts, dict) else ()):
            records[host] = records.get(host, 0) + int(count)
            if open_until is not None:
                until[host] = max(float(open_until), until.get(host, 0.0))
    waiting = {host: HostWaiting(n, "closed" if host not in until else "open" if until[host] > now else "half-open",
                                 until.get(host)) for host, n in records.items()}
    return total, dict(sorted(waiting.items(), key=lambda item: (-item[1].records, item[0])))


@dataclass(frozen=True, slots=True)
class Backlog:
    lag: dict[int, int]  # records not done yet, per partition of the records topic
    retrying: int  # records replayed after a transient failure (a store away, a tuple lost) or in the retry topic
    dead_letters: dict[str, int]  # letters of the dead-letter topic by reason
    waiting: dict[str, HostWaiting] = field(default_factory=dict)  # records in the retry topic per host

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "total_lag": self.total_lag}


def backlog(settings: Settings, name: str | None = None) -> Backlog:
    """The backlog of the topology `name` (its consumer group) on the settings' records, retry and dead-letter
    topics."""
    group = name or settings.topology_name
    partitions = group_lag(settings, settings.records_topic, group=group)
    retries = group_lag(settings, settings.retry_topic_name, group=group)
    held, waiting = waiting_of(retries, time.time())
    return Backlog(lag={p.partition: p.lag for p in partitions},
                   retrying=retrying_of(partitions) + held,
                   dead_letters=by_reason(topic_letters(settings)), waiting=waiting)
