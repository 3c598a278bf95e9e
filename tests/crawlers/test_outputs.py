"""The sinks: a JSONL file, the in-process ingest runner, and failures of a sink counted without stopping the crawl."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.crawlers.embedded import IngestFeed
from snapmode.crawlers.sinks import CallableSink, JsonlSink
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.sources import read_records_jsonl
from snapmode.pipeline.steps import FetchOptions
from snapmode.queue.deadletters import JsonlDeadLetter
from snapmode.records import ProductRecord
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.conftest import MeanColourEmbedder
from tests.crawlers.conftest import Crawl, jsonld_config
from tests.crawlers.shops import Shop, serve_images


def test_jsonl_file_holds_valid_records(crawl: Crawl, jsonld: Shop, tmp_path: Path) -> None:
    out = tmp_path / "out" / "records.jsonl"
    summary, _ = crawl(jsonld_config(jsonld), sink=JsonlSink(out))
    records = list(read_records_jsonl(out))
    assert all(isinstance(r, ProductRecord) for r in records)
    assert sorted(r.product_id for r in records) == ["JL-1", "JL-2", "JL-3", "JL-4", "JL-5", "JL-6", "JL-8"]
    assert summary.products_sent == 7


def test_a_failing_sink_is_counted_and_the_crawl_goes_on(crawl: Crawl, jsonld: Shop) -> None:
    sent: list[str] = []

    def picky(record: ProductRecord) -> None:
        if record.product_id in ("JL-1", "JL-3"):
            raise ConnectionError("broker gone")
        sent.append(record.product_id)

    summary, _ = crawl(jsonld_config(jsonld), sink=CallableSink(picky))
    assert sorted(sent) == ["JL-2", "JL-4", "JL-5", "JL-6", "JL-8"]
    assert summary.errors["send_failed"] == 2 and summary.products_sent == 5


def test_embedded_mode_indexes_crawled_images_in_process(crawl: Crawl, jsonld: Shop, tmp_path: Path) -> None:
    serve_images(jsonld, ["/img/jl-1-a.jpg", "/img/jl-1-b.jpg", "/img/jl-2.jpg", "/img/jl-3.jpg", "/img/jl-4.jpg",
                          "/img/jl-5.jpg", "/img/jl-6.jpg"])  # /img/jl-8.jpg stays missing
    embedder = MeanColourEmbedder()
    runner = IngestRunner(embedder=embedder,
                          vectors=MilvusVectorStore(uri=str(tmp_path / "v.db"), collection="t", dim=embedder.dim),
                          metadata=SqliteMetadataStore(tmp_path / "m.sqlite"), limits=DecodeLimits(),
                          fetch=FetchOptions(allow_private=True), dead_letter=JsonlDeadLetter(tmp_path / "dead.jsonl"),
                          batch_size=4, workers=2)
    feed = IngestFeed(runner)
    summary, _ = crawl(jsonld_config(jsonld), sink=CallableSink(feed.put))
    report = feed.close()

    assert report is not None and summary.products_sent == report.records == 7
    assert report.images_indexed == 7 and dict(report.rejected) == {"http_error": 1}
    assert runner.vectors.count() == 7


class RecordingProducer:
    """Stands in for kafka-python's producer here; the real broker round trip is in test_kafka.py."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail = fail

    def send(self, topic: str, key: bytes, value: bytes):  # type: ignore[no-untyped-def]
        from kafka.future import Future

        self.sent.append((topic, key, value))
        future = Future()
        return future.failure(RuntimeError("not enough replicas")) if self.fail else future.success("metadata")


def test_kafka_sink_keys_by_product_and_reports_acks(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import kafka

    from snapmode.crawlers.sinks import KafkaSink

    record = ProductRecord(site="s", product_id="p1", url="https://s.example/p1", title="T",
                           image_urls=("https://s.example/1.jpg",))
    outcomes: list[str] = []
    for fail in (False, True):
        producer = RecordingProducer(fail)
        monkeypatch.setattr(kafka, "KafkaProducer", lambda **config: producer)
        KafkaSink(settings.model_copy(update={"records_topic": "topic"})).send(
            record, on_sent=lambda: outcomes.append("sent"), on_failed=lambda e: outcomes.append(f"failed {e}"))
        assert producer.sent == [("topic", b"s:p1", record.to_json().encode())]
    assert outcomes == ["sent", "failed not enough replicas"]
