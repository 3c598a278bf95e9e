"""Every Kafka producer and consumer is built by snapmode/queue.py from the settings: the crawler's sink, publish,
the dead letters and the spout get the same configuration. No broker needed (kafka-python's clients are recorded)."""

from __future__ import annotations

import re
from pathlib import Path

import kafka
import pytest

from snapmode.config import Settings
from snapmode.crawlers.sinks import KafkaSink
from snapmode.queue.deadletters import KafkaDeadLetter
from snapmode.queue.kafka import KafkaConsumerQueue, KafkaProducerQueue, consumer_config, producer_config
from snapmode.topologies.spout import KafkaRecordSpout

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kafka_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {"KAFKA_BOOTSTRAP": "k1:9092,k2:9092", "KAFKA_CLIENT_ID": "shop-crawler",
                        "KAFKA_TIMEOUT_S": "12.5", "KAFKA_LINGER_MS": "7", "TOPOLOGY_NAME": "ingest-a"}.items():
        monkeypatch.setenv(f"SNAPMODE_{name}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, object]]]:
    """The configuration of every kafka-python producer and consumer created, by kind."""
    made: dict[str, list[dict[str, object]]] = {"producer": [], "consumer": []}

    class Recorder:
        def __init__(self, kind: str, *topics: str, **config: object) -> None:
            made[kind].append({"topics": topics, **config})

    monkeypatch.setattr(kafka, "KafkaProducer", lambda **config: Recorder("producer", **config))
    monkeypatch.setattr(kafka, "KafkaConsumer", lambda *topics, **config: Recorder("consumer", *topics, **config))
    return made


def test_producers_are_idempotent_wait_for_all_replicas_and_follow_the_settings(kafka_settings: Settings) -> None:
    config = producer_config(kafka_settings)
    assert config["enable_idempotence"] is True and config["acks"] == "all" and config["retries"] > 0  # type: ignore[operator]
    assert config["bootstrap_servers"] == ["k1:9092", "k2:9092"] and config["client_id"] == "shop-crawler"
    assert config["linger_ms"] == 7 and config["max_block_ms"] == config["request_timeout_ms"] == 12_500
    assert config["delivery_timeout_ms"] >= 12_500 + 7  # type: ignore[operator]  # kafka-python's requirement
    assert set(config) <= set(kafka.KafkaProducer.DEFAULT_CONFIG)  # names kafka-python knows


def test_consumers_commit_only_when_told_and_follow_the_settings(kafka_settings: Settings) -> None:
    config = consumer_config(kafka_settings, "indexers")
    assert config["enable_auto_commit"] is False and config["group_id"] == "indexers"
    assert config["auto_offset_reset"] == "earliest" and config["client_id"] == "shop-crawler"
    assert config["bootstrap_servers"] == ["k1:9092", "k2:9092"] and config["bootstrap_timeout_ms"] == 12_500
    assert config["request_timeout_ms"] > kafka.KafkaConsumer.DEFAULT_CONFIG["fetch_max_wait_ms"]  # type: ignore[operator]
    assert set(config) <= set(kafka.KafkaConsumer.DEFAULT_CONFIG)


def test_crawler_publish_and_dead_letters_share_one_producer_configuration(
        kafka_settings: Settings, made: dict[str, list[dict[str, object]]]) -> None:
    sink, dead_letters = KafkaSink(kafka_settings), KafkaDeadLetter(kafka_settings)
    KafkaProducerQueue(kafka_settings)  # `snapmode publish`, `delete`, `bench ingest`
    assert (sink.topic, dead_letters.topic) == (kafka_settings.records_topic, kafka_settings.dead_letter_topic)
    expected = {"topics": (), **producer_config(kafka_settings)}
    assert made["producer"] == [expected] * 3 and made["consumer"] == []


def test_the_spout_consumes_through_the_same_consumer(kafka_settings: Settings,
                                                      made: dict[str, list[dict[str, object]]]) -> None:
    consumer = KafkaRecordSpout.connect(object.__new__(KafkaRecordSpout), kafka_settings)
    assert isinstance(consumer, KafkaConsumerQueue)
    KafkaConsumerQueue(kafka_settings, ["snapmode.dead-letter"], "audit")
    assert made["consumer"] == [{"topics": (), **consumer_config(kafka_settings, "ingest-a")},
                                {"topics": ("snapmode.dead-letter",), **consumer_config(kafka_settings, "audit")}]


def test_a_failing_submit_reports_through_its_callback(kafka_settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    class Full:
        def send(self, topic: str, key: bytes | None, value: bytes) -> None:
            raise kafka.errors.KafkaTimeoutError("buffer full")

    monkeypatch.setattr(kafka, "KafkaProducer", lambda **config: Full())
    failures: list[Exception] = []
    KafkaProducerQueue(kafka_settings).submit("t", "k", b"v", lambda: pytest.fail("not sent"), failures.append)
    assert [str(e) for e in failures] == ["KafkaTimeoutError: buffer full"]


def test_no_other_module_builds_a_kafka_client() -> None:
    """Producers and consumers come from snapmode/queue/kafka.py only (admin clients for topics are not queues)."""
    builds = re.compile(r"\bKafka(Producer|Consumer)\(")
    sources = [p for part in ("snapmode", "crawlers", "topologies", "services", "infra", "model", "bench", "datasets", "search")
               for p in (ROOT / part).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if builds.search(p.read_text(encoding="utf-8")) and p != ROOT / "snapmode" / "queue" / "kafka.py"]
    assert offenders == []
