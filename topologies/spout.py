"""Kafka spout: emits each product record with a tuple id, replays failed ones, commits only finished offsets."""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from streamparse import Spout, Stream

from snapmode.config import Settings
from snapmode.interfaces import StoreUnavailable
from snapmode.pipeline.steps import Rejection
from snapmode.queue.backlog import spout_note
from snapmode.queue.kafka import KafkaConsumerQueue
from snapmode.retries import Backoff
from snapmode.topologies.component import setup_component
from snapmode.topologies.offsets import OffsetTracker
from snapmode.topologies.payloads import RECORD_FIELDS, REJECTION_FIELDS, rejection_values

EXHAUSTED = "exhausted"  # records that failed `max_attempts` times (when set), for the dead-letter bolt
PARTITIONS_CHECK_S = 10.0  # how often the spout looks for partitions added to the topic
LAG_EVERY_S = 15.0  # how often a spout measures its group's lag for the metrics
# How long one poll of the topic may wait for records. Acks reach the spout only between polls, so it waits briefly
# while records are in flight; with none in flight it waits longer, and a spout with nothing to do costs little.
BUSY_POLL_S = 0.1
IDLE_POLL_S = 1.0


@dataclass(slots=True, order=True)
class InFlight:
    partition: int = field(compare=False)
    offset: int = field(compare=False)
    key: str = field(compare=False)
    value: str = field(compare=False)
    attempts: int = field(default=1, compare=False)
    due: float = 0.0  # when a failed record is replayed
    extra: tuple[str, ...] = field(default=(), compare=False)  # values emitted after the key and the record

    def values(self) -> list[str]:
        return [self.key, self.value, *self.extra]


def tuple_id(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


def my_partitions(partitions: set[int], task_id: int, task_ids: list[int]) -> list[int]:
    """This spout task's share of the topic's partitions: every len(task_ids)-th one, starting at its rank."""
    rank, tasks = sorted(task_ids).index(task_id), len(task_ids)
    return [p for p in sorted(partitions) if p % tasks == rank]


class KafkaRecordSpout(Spout):
    """Reads the records topic under the topology's consumer group; a record's offset is committed once its tuple tree
    completed (every image in both stores, or dead-lettered), so a crashed worker resumes without losing anything.
    Partitions are assigned to spout tasks by rank, as Storm's own Kafka spout does: no rebalancing while in flight.
    """

    outputs = [Stream(RECORD_FIELDS), Stream(REJECTION_FIELDS, name=EXHAUSTED)]
    unassigned_check_s = 0.1  # how often a spout without partitions (its topic not there yet) looks again

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        settings, self.counters = setup_component(storm_conf, context)
        self.max_attempts = settings.max_attempts  # 0: a failed record replays until it is done
        self.backoff = Backoff.from_settings(settings)
        self.max_pending = settings.max_spout_pending
        self.consumer = self.connect(settings)
        self.topic = self.topic_of(settings)
        self.task_id = context.get("taskid", 0)
        self.task_ids = [int(t) for t, c in context.get("task->component", {}).items()
                         if c == context.get("componentid")] or [self.task_id]
        self.assigned: list[int] = []
        self._partitions_checked = 0.0
        self.tracker = OffsetTracker()
        self.in_flight: dict[str, InFlight] = {}
        self.replays: list[InFlight] = []  # failed records, a heap by when they are due again
        self.commit_every_s = 1.0
        self._noted = self.note()  # as last stored with the committed offsets
        self._last_commit = time.monotonic()
        self.settings = settings
        self._lag_measured = 0.0 if settings.topology_metrics_port else float("inf")  # no metrics: never measured

    def topic_of(self, settings: Settings) -> str:
        return settings.records_topic

    def connect(self, settings: Settings) -> KafkaConsumerQueue:
        """A member of the topology's consumer group that commits only when told to; partitions come from `assign`."""
        return KafkaConsumerQueue(settings, (), group=settings.topology_name)

    def next_tuple(self) -> None:
        if time.monotonic() - self._partitions_checked >= (PARTITIONS_CHECK_S if self.assigned
                                                           else self.unassigned_check_s):
            self.assign()
        if not self.assigned:
            time.sleep(0.1)
            return
        if self.replays and self.replays[0].due <= time.monotonic():
            message = heapq.heappop(self.replays)
            self.emit(message.values(), tup_id=tuple_id(message.partition, message.offset))
            return
        if len(self.in_flight) < self.max_pending:
            self.take()
        self.maybe_commit()

    def take(self) -> None:
        """Emit the next records of the topic, as many as there are free pending slots."""
        for record in self.consumer.poll(timeout_s=self.poll_timeout_s(),
                                         max_records=self.max_pending - len(self.in_flight)):
            self.tracker.taken(record.partition, record.offset)
            self.send(InFlight(record.partition, record.offset, record.key or "",
                               record.value.decode("utf-8", "replace")))

    def poll_timeout_s(self) -> float:
        return BUSY_POLL_S if self.in_flight or self.replays else IDLE_POLL_S

    def send(self, message: InFlight) -> None:
        """Emit a record taken from the topic for the first time; it stays in flight until its tuple tree is done."""
        self.in_flight[tuple_id(message.partition, message.offset)] = message
        self.emit(message.values(), tup_id=tuple_id(message.partition, message.offset))
        self.counters.add("emitted")

    def assign(self) -> bool:
        """Take this task's share of the topic's partitions, again whenever partitions were added: a new one is read
        from the group's committed offset (from its start when none), the others go on where they are."""
        self._partitions_checked = time.monotonic()
        try:
            partitions = self.consumer.partitions(self.topic)
        except StoreUnavailable as exc:  # the broker away: the partitions we have are still ours
            self.counters.log.warning("spout.partitions_unknown", error=str(exc)[:300])
            return bool(self.assigned)
        mine = my_partitions(partitions, self.task_id, self.task_ids) if partitions else []
        if mine and mine != self.assigned:
            self.consumer.assign(self.topic, mine)
            self.counters.log.info("spout.assigned", topic=self.topic, partitions=mine, before=self.assigned)
            self.assigned = mine
        return bool(self.assigned)

    def ack(self, tup_id: str) -> None:
        message = self.in_flight.pop(tup_id, None)
        if message is not None:
            self.tracker.done(message.partition, message.offset)
            self.counters.add("processed")
        self.maybe_commit()

    def fail(self, tup_id: str) -> None:
        message = self.in_flight.get(tup_id)
        if message is None:
            return
        if self.max_attempts and message.attempts >= self.max_attempts:
            rejection = Rejection(reason="max_attempts", detail=f"failed {message.attempts} times "
                                  f"(partition {message.partition}, offset {message.offset})",
                                  product_key=message.key or None, payload=message.value[:10_000])
            self.emit(rejection_values(rejection), tup_id=tup_id, stream=EXHAUSTED)
            self.counters.add("exhausted")
            message.attempts += 1
            return
        message.due = time.monotonic() + self.backoff.delay(message.attempts)
        message.attempts += 1
        heapq.heappush(self.replays, message)
        self.counters.add("retried")

    def maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.commit_every_s:
            self.commit()
        if time.monotonic() - self._lag_measured >= LAG_EVERY_S:
            self.measure_lag()

    def measure_lag(self) -> None:
        """The group's lag on this task's partitions, for the metrics (a broker away: measured next time)."""
        from snapmode.queue.kafka import group_lag

        self._lag_measured = time.monotonic()
        try:
            partitions = group_lag(self.settings, self.topic, self.settings.topology_name)
        except Exception as exc:  # noqa: BLE001 - a measurement never stops the spout
            self.counters.log.warning("spout.lag_unknown", topic=self.topic, error=str(exc)[:300])
            return
        self.counters.lag(self.topic, sum(p.lag for p in partitions if p.partition in self.assigned))

    def replaying(self) -> int:
        """Records of this task failed at least once and replayed in place."""
        return sum(1 for message in self.in_flight.values() if message.attempts > 1)

    def note(self) -> str:
        """What the committed offsets carry for `topology status`: how many records this task replays."""
        return spout_note(self.task_id, self.replaying())

    def commit(self) -> None:
        """Commit what is done, with the task's note."""
        self._last_commit = time.monotonic()
        offsets = self.tracker.committable()
        note = self.note()
        if note != self._noted:  # every partition, unmoved ones too, carries the new note
            offsets = self.tracker.positions()
        if not offsets:
            return
        try:
            self.consumer.commit_offsets(self.topic, offsets, metadata=note)
        except Exception as exc:  # noqa: BLE001 - a rebalance or broker hiccup: the next commit covers it
            self.counters.log.warning("spout.commit_failed", error=repr(exc))
            return
        self.tracker.committed(offsets)
        self._noted = note
        self.counters.maybe_log()
