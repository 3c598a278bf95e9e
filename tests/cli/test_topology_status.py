"""`snapmode topology status` adds the backlog from Kafka: lag per partition, records retrying, dead letters by
reason. The spout notes its retries with its committed offsets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.queue.backlog import Backlog, HostWaiting, retrying_of, spout_note
from snapmode.queue.kafka import PartitionLag
from snapmode.queue.messages import QueueUnavailable
from snapmode.topologies.nimbus import ComponentStats, TopologyStatus


def test_lag_counts_what_the_group_has_not_finished() -> None:
    assert PartitionLag(0, start=0, end=10, committed=4).lag == 6
    assert PartitionLag(1, start=3, end=10, committed=None).lag == 7  # nothing committed: all that is there
    assert PartitionLag(2, start=8, end=10, committed=5).lag == 2  # older records deleted by retention


def test_retrying_adds_up_each_spout_task_once() -> None:
    notes = [PartitionLag(p, 0, 9, 5, spout_note(task, retrying)) for p, task, retrying in
             [(0, 10, 2), (1, 11, 3), (2, 10, 2), (3, 11, 3)]]
    assert retrying_of([*notes, PartitionLag(4, 0, 9, 9, ""), PartitionLag(5, 0, 9, 9, "not json")]) == 5


@pytest.fixture
def status(tmp_path: Path, cli_env: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    cli_env(DATA_DIR=tmp_path / "data")
    running = TopologyStatus(name="snapmode-ingest", running=True, status="ACTIVE", uptime_s=5, workers=1,
                             components={"records": ComponentStats(executors=1, acked=7, failed=2),
                                         "retries": ComponentStats(executors=1, acked=4, failed=1),
                                         "reschedule": ComponentStats(executors=1, acked=5)})
    monkeypatch.setattr("snapmode.topologies.nimbus.topology_status", lambda settings, name: running)

    def run(waiting: Backlog | Exception, *args: str):  # type: ignore[no-untyped-def]
        def backlog(settings, name):  # type: ignore[no-untyped-def]
            if isinstance(waiting, Exception):
                raise waiting
            return waiting
        monkeypatch.setattr("snapmode.queue.backlog.backlog", backlog)
        return CliRunner().invoke(app, ["topology", "status", *args])
    return run


def test_status_shows_lag_retries_and_dead_letters(status) -> None:  # type: ignore[no-untyped-def]
    waiting = Backlog(lag={0: 2, 1: 3}, retrying=1, dead_letters={"not_found": 2, "invalid_record": 1})
    shown = status(waiting)
    assert shown.exit_code == 0, shown.output
    assert "lag=5 (p0 2, p1 3) retrying=1 dead letters: not_found 2, invalid_record 1" in shown.output
    as_json = json.loads(status(waiting, "--json").stdout)
    assert as_json["backlog"] == {"lag": {"0": 2, "1": 3}, "retrying": 1, "total_lag": 5,
                                  "dead_letters": {"not_found": 2, "invalid_record": 1}, "waiting": {}}


def test_status_shows_the_hosts_records_wait_for_and_their_breakers(status) -> None:  # type: ignore[no-untyped-def]
    import time

    until = time.time() + 42.4
    waiting = Backlog(lag={0: 0}, retrying=320, dead_letters={}, waiting={
        "127.0.0.1:4000": HostWaiting(300, "open", until), "shop.example": HostWaiting(20, "half-open", until - 60),
        "slow.example": HostWaiting(0, "closed")})
    shown = status(waiting)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "retrying=320" in text
    assert ("waiting for their hosts: 127.0.0.1:4000 300 (breaker open, 42 s left); shop.example 20 (breaker "
            "half-open: the next try probes); slow.example 0 (breaker closed)") in text
    as_json = json.loads(status(waiting, "--json").stdout)
    assert as_json["backlog"]["waiting"]["127.0.0.1:4000"] == {"records": 300, "breaker": "open", "open_until": until}


def test_status_without_kafka_still_shows_storm(status) -> None:  # type: ignore[no-untyped-def]
    shown = status(QueueUnavailable("Kafka at 127.0.0.1:9092: connecting failed"))
    assert shown.exit_code == 0, shown.output
    assert "processed=6 rescheduled=5 retried=3" in shown.output  # records done, not those sent to retry
    assert "backlog unknown: Kafka at 127.0.0.1:9092" in shown.output


@pytest.mark.integration
def test_group_lag_and_notes_against_kafka(native_cluster) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from snapmode.config import Settings
    from snapmode.queue.kafka import KafkaConsumerQueue, KafkaProducerQueue, group_lag

    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"lag-group-{uuid.uuid4().hex[:8]}"
    settings = Settings(_env_file=None, kafka_bootstrap=native_cluster.kafka_bootstrap)  # type: ignore[call-arg]
    producer = KafkaProducerQueue(settings)
    producer.send(topic, [("k", b"a"), ("k", b"b"), ("k", b"c")])
    producer.close()
    [before] = group_lag(settings, topic, group)
    assert (before.lag, before.committed) == (3, None)
    consumer = KafkaConsumerQueue(settings, (), group=group)
    consumer.commit_offsets(topic, {before.partition: 1}, metadata=spout_note(7, 2))
    consumer.close()
    [after] = group_lag(settings, topic, group)
    assert after.lag == 2 and retrying_of([after]) == 2
    assert group_lag(settings, f"{topic}-none", group) == []
