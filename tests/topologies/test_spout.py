"""The spout replays failed records, dead-letters those that keep failing, and commits only finished offsets.

Kafka itself is replaced by a stand-in here; the real consumer group runs in test_storm_ingest.py.
"""

from __future__ import annotations

import time

import pytest

from snapmode.config import Settings
from snapmode.topologies.payloads import rejection_from_values
from snapmode.topologies.spout import (BUSY_POLL_S, EXHAUSTED, IDLE_POLL_S, PARTITIONS_CHECK_S, KafkaRecordSpout,
                                       my_partitions)
from tests.topologies.harness import StandInConsumer, commands, messages, start

TOPIC = "records"


@pytest.fixture
def spout(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> KafkaRecordSpout:
    consumer = StandInConsumer(TOPIC, [b"r0", b"r1", b"r2"])
    monkeypatch.setattr(KafkaRecordSpout, "connect", lambda self, s: consumer)
    spout = start(KafkaRecordSpout, settings.model_copy(update={"records_topic": TOPIC, "max_attempts": 2,
                                                                "retry_first_delay_s": 0.0}), "records")
    spout.commit_every_s = 0
    return spout


def test_commits_only_below_the_oldest_unfinished_record(spout: KafkaRecordSpout) -> None:
    spout.next_tuple()
    emitted = commands(messages(spout), "emit")
    assert [(m["id"], m["tuple"][1]) for m in emitted] == [("0:0", "r0"), ("0:1", "r1"), ("0:2", "r2")]
    spout.ack("0:1")
    spout.ack("0:2")
    assert spout.consumer.commits[-1] == {0: 0}  # record 0 unfinished: a crash must replay it
    spout.ack("0:0")
    assert spout.consumer.commits[-1] == {0: 3}


def test_replays_a_failed_record_then_dead_letters_it(spout: KafkaRecordSpout) -> None:
    spout.next_tuple()
    messages(spout)
    spout.fail("0:1")
    spout.next_tuple()
    replay = commands(messages(spout), "emit")
    assert [(m["id"], m["tuple"][1]) for m in replay] == [("0:1", "r1")]
    spout.fail("0:1")  # the second failure with max_attempts=2
    exhausted = commands(messages(spout), "emit", EXHAUSTED)
    rejection = rejection_from_values(exhausted[0]["tuple"])
    assert rejection.reason == "max_attempts" and rejection.payload == "r1" and rejection.product_key == "shop:p1"
    assert exhausted[0]["id"] == "0:1"
    spout.ack("0:0")
    spout.ack("0:2")
    assert spout.consumer.commits[-1] == {0: 1}  # not past the record until its dead letter is written
    spout.ack("0:1")
    assert spout.consumer.commits[-1] == {0: 3}


def test_polls_briefly_only_while_records_are_in_flight(spout: KafkaRecordSpout) -> None:
    spout.next_tuple()
    spout.next_tuple()
    assert spout.consumer.timeouts == [IDLE_POLL_S, BUSY_POLL_S]  # acks come between polls: none waits long for one
    messages(spout)
    for n in range(3):
        spout.ack(f"0:{n}")
    spout.next_tuple()
    assert spout.consumer.timeouts[-1] == IDLE_POLL_S


def test_spout_tasks_share_the_partitions_by_rank() -> None:
    shares = [my_partitions({0, 1, 2, 3, 4}, task, [12, 10, 11]) for task in (10, 11, 12)]
    assert shares == [[0, 3], [1, 4], [2]]


def test_by_default_a_failed_record_replays_after_a_growing_delay_and_is_never_given_up(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = StandInConsumer(TOPIC, [b"r0"])
    monkeypatch.setattr(KafkaRecordSpout, "connect", lambda self, s: consumer)
    spout = start(KafkaRecordSpout, settings.model_copy(update={"records_topic": TOPIC, "retry_first_delay_s": 0.25,
                                                                "retry_max_delay_s": 0.5}), "records")
    spout.commit_every_s = 0
    clock = [float(int(time.monotonic()) + 1024)]  # steps of 1/8 s add up exactly
    monkeypatch.setattr("snapmode.topologies.spout.time.monotonic", lambda: clock[0])
    spout.next_tuple()
    messages(spout)
    delays = []
    for _ in range(12):  # a store away for a long time: every try fails
        spout.fail("0:0")
        assert commands(messages(spout), "emit", EXHAUSTED) == []
        waited = 0.0
        while True:
            spout.next_tuple()
            if commands(messages(spout), "emit"):
                break
            clock[0] += 0.125
            waited += 0.125
        delays.append(waited)
    assert delays[:3] == [0.25, 0.5, 0.5] and set(delays[3:]) == {0.5}
    spout.ack("0:0")
    assert spout.consumer.commits[-1] == {0: 1}


def test_the_spout_follows_partitions_added_to_the_topic(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = StandInConsumer(TOPIC, [])
    partitions, assigned = [{0}], []
    consumer.partitions = lambda topic: partitions[0]  # type: ignore[method-assign]
    consumer.assign = lambda topic, ps: assigned.append(list(ps))  # type: ignore[method-assign]
    monkeypatch.setattr(KafkaRecordSpout, "connect", lambda self, s: consumer)
    clock = [float(int(time.monotonic()) + 1024)]
    monkeypatch.setattr("snapmode.topologies.spout.time.monotonic", lambda: clock[0])
    spout = start(KafkaRecordSpout, settings.model_copy(update={"records_topic": TOPIC}), "records")
    spout.next_tuple()
    assert assigned == [[0]]
    partitions[0] = {0, 1, 2}  # an operator added partitions
    clock[0] += PARTITIONS_CHECK_S / 2
    spout.next_tuple()
    assert assigned == [[0]]
    clock[0] += PARTITIONS_CHECK_S
    spout.next_tuple()
    assert assigned == [[0], [0, 1, 2]]
    spout.next_tuple()
    assert len(assigned) == 2  # unchanged: not assigned again


def test_the_committed_offsets_note_how_many_records_are_retrying(spout: KafkaRecordSpout) -> None:
    import json

    spout.next_tuple()
    messages(spout)
    spout.ack("0:0")
    assert json.loads(spout.consumer.notes[-1]) == {"task": spout.task_id, "retrying": 0}
    spout.fail("0:1")
    spout.commit()  # the offset has not moved, the count has: committed again with it
    assert spout.consumer.commits[-1] == {0: 1} and json.loads(spout.consumer.notes[-1])["retrying"] == 1
    spout.next_tuple()
    messages(spout)
    spout.ack("0:1")
    spout.ack("0:2")
    assert spout.consumer.commits[-1] == {0: 3} and json.loads(spout.consumer.notes[-1])["retrying"] == 0
