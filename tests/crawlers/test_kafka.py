"""Records reach the real Kafka keyed by product, acknowledged by all replicas; an unchanged shop sends nothing new."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from snapmode.config import Settings
from snapmode.crawlers.sinks import KafkaSink
from snapmode.records import ProductRecord
from tests.cluster import NativeCluster
from tests.crawlers.conftest import Crawl, jsonld_config
from tests.crawlers.shops import Shop

pytestmark = pytest.mark.integration


@pytest.fixture
def kafka_bootstrap(native_cluster: NativeCluster) -> str:
    """The native cluster's broker (or the external one that `SNAPMODE_TEST_SERVICES=external` names)."""
    return native_cluster.kafka_bootstrap


def consume_all(bootstrap: str, topic: str) -> list[tuple[str, ProductRecord]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), auto_offset_reset="earliest",
                             group_id=f"test-{uuid.uuid4().hex[:8]}", consumer_timeout_ms=5000)
    try:
        return [(m.key.decode(), ProductRecord.from_json(m.value)) for m in consumer]
    finally:
        consumer.close()


def test_records_round_trip_through_kafka(crawl: Crawl, jsonld: Shop, redis: Any, kafka_bootstrap: str) -> None:
    topic = f"snapmode.test.{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap, _env_file=None)  # type: ignore[call-arg]
    first, _ = crawl(jsonld_config(jsonld), redis=redis, sink=KafkaSink(settings, topic))
    second, _ = crawl(jsonld_config(jsonld), redis=redis, sink=KafkaSink(settings, topic))

    messages = consume_all(kafka_bootstrap, topic)
    assert first.products_sent == 7 and second.products_sent == 0 and second.products_unchanged == 8
    assert sorted(key for key, _ in messages) == sorted(f"jsonld-shop:JL-{i}" for i in (1, 2, 3, 4, 5, 6, 8))
    assert all(key == record.key for key, record in messages)
