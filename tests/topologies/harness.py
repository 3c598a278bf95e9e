"""Drive a Python component the way Storm does, through its multi-lang streams, without a cluster; or submit the
topology to the native cluster for the integration tests."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pystorm.component import Tuple

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, VectorStore
from snapmode.queue.messages import Message
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.component import SETTINGS_KEY
from snapmode.topologies.deploy import submit
from snapmode.topologies.handoff import handoff_dir
from snapmode.topologies.nimbus import kill


def start(component_cls: type, settings: Settings, component_id: str = "component") -> Any:
    """A component instance whose output is captured, initialised with `settings` as the topology config."""
    captured = io.BytesIO()
    component = component_cls(input_stream=io.BytesIO(), output_stream=captured, rdb_signal=None)
    component.captured = captured
    # metrics off: each component in this process would serve them (tests/topologies/test_metrics.py tests them)
    conf = {SETTINGS_KEY: {**settings.model_dump(mode="json"), "topology_metrics_port": 0}, "topology.name": "test"}
    context = {"componentid": component_id, "taskid": 1}
    component._setup_component(conf, context)
    component.initialize(conf, context)
    return component


def open_stores(settings: Settings, dim: int) -> Iterator[tuple[VectorStore, MetadataStore]]:
    """Both stores of `settings` for a fixture to yield from, closed after the test."""
    vectors, metadata = build_vector_store(settings, dim=dim), build_metadata_store(settings)
    yield vectors, metadata
    vectors.close()
    metadata.close()


def submitted(settings: Settings) -> Iterator[Settings]:
    """The topology of `settings` on its own topics (4 partitions of records and of retries), submitted to the
    cluster, for a module fixture to yield from; killed afterwards, with the handoff files its killed workers left."""
    from snapmode.infra.provision import create_topics

    create_topics(settings.kafka_bootstrap, {settings.records_topic: 4, settings.retry_topic_name: 4,
                                             settings.dead_letter_topic: 1})
    submit(settings, settings.data_dir / "build")
    try:
        yield settings
    finally:
        kill(settings, wait_s=0)
        shutil.rmtree(handoff_dir(settings), ignore_errors=True)


def tup(values: list[Any], tup_id: str = "t1", stream: str = "default", component: str = "upstream") -> Tuple:
    return Tuple(tup_id, component, stream, 1, tuple(values))


def tick() -> Tuple:
    return Tuple("tick", "__system", "__tick", -1, (1,))


def messages(component: Any) -> list[dict[str, Any]]:
    """Every message the component sent to Storm so far (emits, acks, fails), logs left out; clears the buffer."""
    component.serializer.output_stream.flush()
    raw = component.captured.getvalue().decode("utf-8")
    component.captured.seek(0)
    component.captured.truncate()
    found = [json.loads(chunk) for chunk in raw.split("\nend\n") if chunk.strip()]
    return [m for m in found if m.get("command") != "log"]


def commands(sent: list[dict[str, Any]], command: str, stream: str | None = None) -> list[dict[str, Any]]:
    """The messages of one kind, optionally of one stream ("default" when a message names none)."""
    return [m for m in sent if m.get("command") == command
            and (stream is None or (m.get("stream") or "default") == stream)]


class StandInConsumer:
    """What a spout uses of `KafkaConsumerQueue`, on partition 0 of `topic`; keys `shop:p<offset>`."""

    def __init__(self, topic: str, values: list[bytes]) -> None:
        self.topic = topic
        self.pending = [Message(topic, 0, i, f"shop:p{i}", v) for i, v in enumerate(values)]
        self.commits: list[dict[int, int]] = []
        self.notes: list[str] = []
        self.timeouts: list[float] = []  # of each poll

    def partitions(self, topic: str) -> set[int]:
        assert topic == self.topic
        return {0}

    def assign(self, topic: str, partitions: Sequence[int]) -> None:
        assert (topic, list(partitions)) == (self.topic, [0])

    def poll(self, timeout_s: float, max_records: int) -> list[Message]:
        self.timeouts.append(timeout_s)
        taken, self.pending = self.pending[:max_records], self.pending[max_records:]
        return taken

    def commit_offsets(self, topic: str, next_offsets: Mapping[int, int], metadata: str = "") -> None:
        assert topic == self.topic
        self.commits.append(dict(next_offsets))
        self.notes.append(metadata)
