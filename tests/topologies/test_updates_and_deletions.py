"""Updates, deletions and refused rows in the topology's bolts: a new version replaces the product's images and filter
fields, a tombstone travels to the deletion bolt and empties both stores, an older replay changes nothing, a row the
store refuses is dead-lettered alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, StoreError, VectorItem, VectorStore
from snapmode.records import ProductRecord, Tombstone
from snapmode.topologies.deletions import DeletionBolt
from snapmode.topologies.fetch import DELETED, FetchBolt
from snapmode.topologies.payloads import rejection_from_values, tombstone_values, vectors_values
from snapmode.topologies.writers import REFUSED, MetadataWriterBolt, VectorWriterBolt
from tests.conftest import MeanColourEmbedder
from tests.topologies.harness import commands, messages, open_stores, start, tick, tup

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
DIM = MeanColourEmbedder.dim


def version(pid: str, views: Sequence[int], *, price: float, minutes: int = 0) -> ProductRecord:
    return ProductRecord(site="shop", product_id=pid, url=f"https://shop.example/{pid}", title=f"Product {pid}",
                         price=price, image_urls=tuple(f"https://shop.example/{pid}/{v}.jpg" for v in views),
                         crawled_at=T0 + timedelta(minutes=minutes))


def product_tuple(record: ProductRecord) -> list[str]:
    """What the embed bolt emits for `record`: its embeddings, one per image."""
    items = []
    for ref in record.images():
        vector = np.random.default_rng(ref.position).normal(size=DIM).astype(np.float32)
        items.append(VectorItem.from_record(record, ref.image_id, vector / np.linalg.norm(vector)))
    return vectors_values(record.key, record.to_json(), items)


@pytest.fixture
def stores(settings: Settings) -> Iterator[tuple[VectorStore, MetadataStore]]:
    yield from open_stores(settings, DIM)


def write(bolt: Any, records: Sequence[ProductRecord]) -> list[dict[str, Any]]:
    for n, record in enumerate(records):
        bolt.process(tup(product_tuple(record), tup_id=f"w{n}"))
    bolt.process_tick(tick())
    return messages(bolt)


def prices(vectors: VectorStore, key: str) -> dict[str, float]:
    rows = vectors.client.query(vectors.collection, filter=f'product_key == "{key}"',  # type: ignore[attr-defined]
                                output_fields=["image_id", "price"])
    return {row["image_id"]: row["price"] for row in rows}


Stores = tuple[VectorStore, MetadataStore]


def test_a_new_version_replaces_images_and_filter_fields(settings: Settings, stores: Stores) -> None:
    vectors, _ = stores
    bolts = [start(MetadataWriterBolt, settings, "metadata"), start(VectorWriterBolt, settings, "vectors")]
    v1, v2 = version("a", [0, 1, 2], price=40.0), version("a", [0, 1], price=80.0, minutes=10)
    for bolt in bolts:
        write(bolt, [v1])
    for bolt in bolts:
        sent = write(bolt, [v2])
        assert [m["id"] for m in commands(sent, "ack")] == ["w0"] and commands(sent, "fail") == []
    assert prices(vectors, "shop:a") == {ref.image_id: 80.0 for ref in v2.images()}
    for bolt in bolts:
        write(bolt, [v1])  # replayed late: older than what the metadata store holds
    assert prices(vectors, "shop:a") == {ref.image_id: 80.0 for ref in v2.images()}
    assert bolts[0].store.get(["shop:a"])["shop:a"].price == 80.0


def test_fetch_routes_a_tombstone_and_the_deletion_bolt_empties_both_stores(settings: Settings,
                                                                           stores: Stores) -> None:
    vectors, metadata = stores
    metadata.upsert([version("a", [0, 1], price=1.0), version("b", [0], price=1.0)])
    vectors.upsert([VectorItem.from_record(r, ref.image_id, np.ones(DIM, np.float32) / np.sqrt(DIM))
                    for r in (version("a", [0, 1], price=1.0), version("b", [0], price=1.0)) for ref in r.images()])
    tombstone = Tombstone(site="shop", product_id="a", reason="gone", crawled_at=T0 + timedelta(minutes=1))

    fetch = start(FetchBolt, settings, "fetch")
    fetch.process(tup([tombstone.key, tombstone.to_json()], tup_id="r1"))
    sent = messages(fetch)
    [emitted] = commands(sent, "emit", stream=DELETED)
    assert emitted["tuple"] == tombstone_values(tombstone) and emitted["anchors"] == ["r1"]
    assert [m["id"] for m in commands(sent, "ack")] == ["r1"]

    deletions = start(DeletionBolt, settings, "deletions")
    deletions.vectors = vectors
    deletions.process(tup(emitted["tuple"], tup_id="d1"))
    assert [m["id"] for m in commands(messages(deletions), "ack")] == ["d1"]
    assert metadata.get(["shop:a", "shop:b"]).keys() == {"shop:b"}
    assert vectors.images_of(["shop:a", "shop:b"]).keys() == {"shop:b"}

    stale = start(VectorWriterBolt, settings, "vectors")  # an older version, replayed after the deletion
    write(stale, [version("a", [0, 1], price=1.0)])
    assert vectors.images_of(["shop:a"]) == {}


class RefusingStore:
    """A metadata store that refuses any batch holding product `shop:bad`, as Solr answers 400 to a bad field."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    def upsert(self, records: Sequence[ProductRecord], duplicates: object = None) -> list[ProductRecord]:
        if any(r.key == "shop:bad" for r in records):
            raise StoreError("Solr refused add: HTTP 400: ERROR: [doc=shop:bad] Error adding field 'price'")
        self.stored += [r.key for r in records]
        return list(records)

    def duplicate_marks(self, keys: Sequence[str]) -> dict[str, str | None]:
        return {}

    def versions(self, keys: Sequence[str]) -> dict[str, object]:
        return {}


def test_a_refused_row_is_dead_lettered_alone_and_the_batch_acked(settings: Settings) -> None:
    bolt = start(MetadataWriterBolt, settings, "metadata")
    bolt.store = RefusingStore()
    sent = write(bolt, [version("ok", [0], price=1.0), version("bad", [0, 1], price=1.0),
                        version("fine", [0], price=1.0)])

    assert sorted(bolt.store.stored) == ["shop:fine", "shop:ok"]
    assert sorted(m["id"] for m in commands(sent, "ack")) == ["w0", "w1", "w2"] and commands(sent, "fail") == []
    [refused] = commands(sent, "emit", stream=REFUSED)
    rejection = rejection_from_values(refused["tuple"])
    assert rejection.reason == "store_refused" and rejection.product_key == "shop:bad"
    assert "HTTP 400" in rejection.detail and refused["anchors"] == ["w1"]
    assert ProductRecord.from_json(rejection.payload or "") == version("bad", [0, 1], price=1.0)


def test_an_unexpected_error_fails_the_batch_instead_of_crashing(settings: Settings) -> None:
    bolt = start(MetadataWriterBolt, settings, "metadata")
    bolt.store = None

    def broken(decoded: object) -> dict[str, str]:
        raise ValueError("a bug")

    bolt.write = broken
    sent = write(bolt, [version("a", [0], price=1.0)])
    assert [m["id"] for m in commands(sent, "fail")] == ["w0"] and commands(sent, "ack") == []


def test_the_vector_writer_keeps_its_newest_version_before_the_metadata_store_has_it(settings: Settings,
                                                                                     stores: Stores) -> None:
    vectors, _ = stores
    bolt = start(VectorWriterBolt, settings, "vectors")  # no metadata writer: the metadata store knows nothing yet
    newer, older = version("a", [0], price=80.0, minutes=10), version("a", [0, 1], price=45.0, minutes=5)
    write(bolt, [newer])
    write(bolt, [older])
    assert prices(vectors, "shop:a") == {ref.image_id: 80.0 for ref in newer.images()}


def test_a_tombstone_a_store_refuses_is_dead_lettered_not_replayed(settings: Settings) -> None:
    class Refusing:
        def delete(self, keys: Sequence[str], at: object = None) -> list[str]:
            raise StoreError("Solr refused add: HTTP 400: bad key")

    tombstone = Tombstone(site="shop", product_id="a", reason="gone", crawled_at=T0)
    deletions = start(DeletionBolt, settings, "deletions")
    deletions.metadata, deletions.vectors = Refusing(), object()  # type: ignore[assignment]
    deletions.process(tup(tombstone_values(tombstone), tup_id="d1"))
    sent = messages(deletions)
    [refused] = commands(sent, "emit", stream=REFUSED)
    rejection = rejection_from_values(refused["tuple"])
    assert rejection.reason == "store_refused" and rejection.product_key == "shop:a" and "HTTP 400" in rejection.detail
    assert [m["id"] for m in commands(sent, "ack")] == ["d1"] and commands(sent, "fail") == []


def test_a_row_no_code_path_can_write_is_refused_alone(settings: Settings) -> None:
    class Picky(RefusingStore):
        def upsert(self, records: Sequence[ProductRecord], duplicates: object = None) -> list[ProductRecord]:
            if any(r.key == "shop:bad" for r in records):
                raise ValueError("cannot encode this row")
            return super().upsert(records)

    bolt = start(MetadataWriterBolt, settings, "metadata")
    bolt.store = Picky()
    sent = write(bolt, [version("ok", [0], price=1.0), version("bad", [0], price=1.0)])
    assert bolt.store.stored == ["shop:ok"] and commands(sent, "fail") == []
    [refused] = commands(sent, "emit", stream=REFUSED)
    assert rejection_from_values(refused["tuple"]).detail == "ValueError: cannot encode this row"


def test_vectors_written_while_a_deletion_raced_them_are_deleted_again(settings: Settings, stores: Stores) -> None:
    from snapmode.pipeline.steps import drop_deleted_since

    vectors, metadata = stores
    kept, raced = version("kept", [0], price=1.0), version("raced", [0, 1], price=1.0)
    newer = version("kept", [0], price=2.0, minutes=10)
    # the vector writer checked the versions before either change reached the metadata store, then upserted
    vectors.upsert([VectorItem.from_record(r, ref.image_id, np.ones(DIM, np.float32) / np.sqrt(DIM))
                    for r in (kept, raced) for ref in r.images()])
    metadata.upsert([newer])  # a newer version of one product: its own write replaces the vectors
    metadata.delete(["shop:raced"], at=T0 + timedelta(minutes=10))  # the other deleted: nobody else will
    assert drop_deleted_since(vectors, metadata, [kept, raced]) == ["shop:raced"]
    assert vectors.images_of(["shop:kept", "shop:raced"]).keys() == {"shop:kept"}


def test_the_deletion_bolt_opens_the_vector_index_at_its_recorded_dimension(settings: Settings,
                                                                            stores: Stores) -> None:
    from snapmode.platform import embedder_dim

    vectors, metadata = stores  # an index of DIM, which the configured embedder's dimension is not
    assert embedder_dim(settings) != DIM
    record = version("a", [0, 1], price=1.0)
    metadata.upsert([record])
    vectors.upsert([VectorItem.from_record(record, ref.image_id, np.ones(DIM, np.float32) / np.sqrt(DIM))
                    for ref in record.images()])
    deletions = start(DeletionBolt, settings, "deletions")
    tombstone = Tombstone(site="shop", product_id="a", reason="gone", crawled_at=T0 + timedelta(minutes=1))
    deletions.process(tup(tombstone_values(tombstone), tup_id="d1"))
    assert [m["id"] for m in commands(messages(deletions), "ack")] == ["d1"]
    assert deletions.vectors.dim == DIM
    assert vectors.images_of(["shop:a"]) == {} and metadata.get(["shop:a"]) == {}
    deletions.vectors.close()


def test_the_deletion_bolt_deletes_the_metadata_while_no_vector_index_exists(settings: Settings) -> None:
    from snapmode.stores.factory import build_metadata_store

    metadata = build_metadata_store(settings)
    metadata.upsert([version("a", [0], price=1.0)])
    deletions = start(DeletionBolt, settings, "deletions")
    tombstone = Tombstone(site="shop", product_id="a", reason="gone", crawled_at=T0 + timedelta(minutes=1))
    deletions.process(tup(tombstone_values(tombstone), tup_id="d1"))
    sent = messages(deletions)
    assert [m["id"] for m in commands(sent, "ack")] == ["d1"] and commands(sent, "emit") == []
    assert metadata.get(["shop:a"]) == {} and deletions.vectors is None
    older = version("a", [0], price=1.0)  # a replay older than the deletion changes nothing
    assert metadata.upsert([older]) == []
    metadata.close()


def test_a_record_back_from_the_retry_topic_undoes_no_newer_version_and_no_deletion(
        settings: Settings, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    from snapmode.queue.messages import Message
    from snapmode.topologies.fetch import RETRY
    from snapmode.topologies.payloads import product_from_values
    from snapmode.topologies.retry_spout import KafkaRetrySpout
    from tests.conftest import jpeg_bytes
    from tests.loopback import LoopbackServer, Response, route_handler

    vectors, metadata = stores
    up = [False]

    def respond(path: str) -> Response:
        return (200, "image/jpeg", jpeg_bytes(), {}) if up[0] else (503, "text/plain", b"down", {})

    settings = settings.model_copy(update={"allow_private_urls": True, "fetch_retry_delay_s": 0.0})
    writers = [start(MetadataWriterBolt, settings, "metadata"), start(VectorWriterBolt, settings, "vectors")]
    with LoopbackServer(route_handler(respond)) as shop:
        def at_shop(record: ProductRecord) -> ProductRecord:
            return record.model_copy(update={"image_urls": tuple(f"{shop.base}/{record.product_id}/{n}.jpg"
                                                                 for n in range(len(record.image_urls)))})

        old_a, old_b = at_shop(version("a", [0, 1], price=40.0)), at_shop(version("b", [0], price=40.0))
        fetch = start(FetchBolt, settings, "fetch")
        for n, record in enumerate([old_a, old_b]):  # the shop's host is down: both go to the retry topic
            fetch.process(tup([record.key, record.to_json()], tup_id=f"r{n}"))
        parked = [m["tuple"] for m in commands(messages(fetch), "emit", RETRY)]
        assert len(parked) == 2

        newer_a = at_shop(version("a", [0], price=80.0, minutes=10))  # meanwhile a newer version is indexed ...
        for bolt in writers:
            write(bolt, [newer_a])
        deletions = start(DeletionBolt, settings, "deletions")  # ... and b is deleted
        deletions.vectors = vectors
        gone = Tombstone(site="shop", product_id="b", reason="gone", crawled_at=T0 + timedelta(minutes=10))
        deletions.process(tup(tombstone_values(gone), tup_id="d1"))

        up[0] = True  # the host answers again: the retry spout hands the old records back, and they are fetched
        topic = [Message(settings.retry_topic_name, 0, n, key, envelope.encode())
                 for n, (key, envelope) in enumerate(parked)]

        class RetryTopic:
            def partitions(self, name: str) -> set[int]:
                return {0}

            def assign(self, name: str, partitions: Sequence[int]) -> None:
                pass

            def poll(self, timeout_s: float, max_records: int) -> list[Message]:
                taken, topic[:] = topic[:max_records], topic[max_records:]
                return taken

            def commit_offsets(self, name: str, offsets: object, metadata: str = "") -> None:
                pass

        monkeypatch.setattr(KafkaRetrySpout, "connect", lambda self, s: RetryTopic())
        spout = start(KafkaRetrySpout, settings, "retries")
        spout.next_tuple()
        for emitted in commands(messages(spout), "emit"):
            fetch.process(tup(emitted["tuple"], tup_id=emitted["id"]))
        fetched = [product_from_values(m["tuple"], fetch.handoff).record
                   for m in commands(messages(fetch), "emit", "default")]
    assert fetched == [old_a, old_b]  # indexed at last, as they were published
    for bolt in writers:
        write(bolt, fetched)
    assert prices(vectors, "shop:a") == {ref.image_id: 80.0 for ref in newer_a.images()}
    assert metadata.get(["shop:a"])["shop:a"].price == 80.0
    assert prices(vectors, "shop:b") == {} and metadata.get(["shop:b"]) == {}
