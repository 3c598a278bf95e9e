"""The retry spout holds each record until it is due without taking a pending slot, emits it with its retry state,
commits only past records whose try is done, and notes the records it holds per host."""

from __future__ import annotations

import json

import pytest

from snapmode.config import Settings
from snapmode.queue.backlog import waiting_of
from snapmode.queue.kafka import PartitionLag
from snapmode.queue.retry import RetryEnvelope, RetryState
from snapmode.topologies.payloads import rejection_from_values
from snapmode.topologies.retry_spout import KafkaRetrySpout
from snapmode.topologies.spout import BUSY_POLL_S, EXHAUSTED, IDLE_POLL_S
from tests.topologies.harness import StandInConsumer, commands, messages, start

TOPIC = "snapmode-ingest.retry"
NOW = 1_000_000.0


def envelope(n: int, *, due_in: float, host: str = "127.0.0.1:9", until: float | None = None) -> bytes:
    return RetryEnvelope(key=f"shop:p{n}", record=f'{{"n": {n}}}', state=RetryState({f"img{n}": NOW - 5}, 2),
                         due_at=NOW + due_in, host=host, reason="unreachable",
                         breaker_open_until=until).to_json().encode()




@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [NOW]
    monkeypatch.setattr("snapmode.topologies.retry_spout.time.time", lambda: now[0])
    return now


def spout_over(values: list[bytes], settings: Settings, monkeypatch: pytest.MonkeyPatch,
               **update: object) -> KafkaRetrySpout:
    topic = StandInConsumer(TOPIC, values)
    monkeypatch.setattr(KafkaRetrySpout, "connect", lambda self, s: topic)
    spout = start(KafkaRetrySpout, settings.model_copy(update=update), "retries")
    spout.commit_every_s = 0
    return spout


def test_a_record_is_held_until_due_then_emitted_with_its_state(settings: Settings, clock: list[float],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spout = spout_over([envelope(0, due_in=30), envelope(1, due_in=10)], settings, monkeypatch)
    spout.next_tuple()
    assert commands(messages(spout), "emit") == [] and spout.in_flight == {}  # waiting holds no pending slot
    clock[0] = NOW + 10
    spout.next_tuple()
    [emitted] = commands(messages(spout), "emit")
    assert emitted["id"] == "0:1" and emitted["tuple"][:2] == ["shop:p1", '{"n": 1}']
    assert RetryState.from_json(emitted["tuple"][2]) == RetryState({"img1": NOW - 5}, 2)
    clock[0] = NOW + 30
    spout.next_tuple()
    assert [m["id"] for m in commands(messages(spout), "emit")] == ["0:0"]


def test_a_poll_waits_no_longer_than_the_first_held_record(settings: Settings, clock: list[float],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spout = spout_over([envelope(0, due_in=0.5)], settings, monkeypatch)
    spout.next_tuple()  # holds it
    spout.next_tuple()
    clock[0] = NOW + 0.45
    spout.next_tuple()
    assert spout.consumer.timeouts == [IDLE_POLL_S, 0.5, BUSY_POLL_S]  # never below a busy spout's poll


def test_due_records_wait_for_free_pending_slots(settings: Settings, clock: list[float],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    spout = spout_over([envelope(n, due_in=0) for n in range(5)], settings, monkeypatch, max_spout_pending=2)
    spout.next_tuple()
    assert [m["id"] for m in commands(messages(spout), "emit")] == ["0:0", "0:1"]
    spout.ack("0:0")
    spout.next_tuple()
    assert [m["id"] for m in commands(messages(spout), "emit")] == ["0:2"]


def test_the_offset_moves_only_past_records_whose_new_try_is_done(settings: Settings, clock: list[float],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    spout = spout_over([envelope(0, due_in=60), envelope(1, due_in=0)], settings, monkeypatch)
    spout.next_tuple()
    messages(spout)
    spout.ack("0:1")  # tried again: indexed, or back in the retry topic as a new message
    assert spout.consumer.commits[-1] == {0: 0}  # record 0 still waits: a crash reads it again
    clock[0] = NOW + 60
    spout.next_tuple()
    messages(spout)
    spout.fail("0:0")  # a store away: replayed in place, still not done
    assert spout.consumer.commits[-1] == {0: 0}
    spout.ack("0:0")
    assert spout.consumer.commits[-1] == {0: 2}


def test_the_notes_count_the_records_held_per_host_with_their_breakers(settings: Settings, clock: list[float],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    dead, slow = "127.0.0.1:9", "shop.example"
    spout = spout_over([envelope(0, due_in=5, host=dead, until=NOW + 20), envelope(1, due_in=50, host=dead),
                        envelope(2, due_in=50, host=slow)], settings, monkeypatch)
    spout.next_tuple()
    spout.commit()
    note = json.loads(spout.consumer.notes[-1])
    assert (note["waiting"], note["hosts"]) == (3, {dead: [2, NOW + 20], slow: [1, None]})
    total, hosts = waiting_of([PartitionLag(0, 0, 3, 0, spout.consumer.notes[-1])], now=NOW)
    assert total == 3 and [(h, w.records, w.breaker) for h, w in hosts.items()] == [(dead, 2, "open"),
                                                                                     (slow, 1, "closed")]
    assert waiting_of([PartitionLag(0, 0, 3, 0, spout.consumer.notes[-1])], now=NOW + 21)[1][dead].breaker == \
        "half-open"
    clock[0] = NOW + 5
    spout.next_tuple()
    messages(spout)
    spout.ack("0:0")  # its host answered: indexed
    assert json.loads(spout.consumer.notes[-1])["hosts"] == {dead: [1, None], slow: [1, None]}


def test_a_message_that_is_no_envelope_is_dead_lettered(settings: Settings, clock: list[float],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spout = spout_over([b"{broken", envelope(1, due_in=0)], settings, monkeypatch)
    spout.next_tuple()
    sent = messages(spout)
    [letter] = commands(sent, "emit", EXHAUSTED)
    rejection = rejection_from_values(letter["tuple"])
    assert rejection.reason == "invalid_record" and rejection.payload == "{broken" and letter["id"] == "0:0"
    assert [m["id"] for m in commands(sent, "emit", "default")] == ["0:1"]
    spout.ack("0:0")
    spout.ack("0:1")
    assert spout.consumer.commits[-1] == {0: 2}


def test_the_spout_reads_its_topology_s_retry_topic(settings: Settings) -> None:
    assert settings.retry_topic_name == TOPIC
    assert settings.model_copy(update={"topology_name": "blue"}).retry_topic_name == "blue.retry"
    assert settings.model_copy(update={"retry_topic": "shared.retry"}).retry_topic_name == "shared.retry"
