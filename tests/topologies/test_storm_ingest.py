"""The ingestion topology on a real Storm: Kafka in, Milvus and Solr out, through a worker crash, bad input dead-lettered."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.interfaces import SearchFilter
from snapmode.pipeline.decode import decode_image
from snapmode.pipeline.manifest import catalog_records
from snapmode.pipeline.options import decode_limits
from snapmode.platform import build_embedder, embedder_dim
from snapmode.queue.kafka import KafkaProducerQueue, read_topic
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.nimbus import topology_status
from snapmode.topologies.publish import publish
from snapmode.waiting import WaitTimeout, wait_until
from tests.topologies.harness import submitted

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RUN = f"storm-test-{int(time.time())}"  # topics, consumer group and site of this run: nothing left from another
SITE = RUN
PRODUCTS = 400  # 200 published first, 200 during the worker crash
INDEXED_VIEWS = 2  # published per product; one more view per product is held out for queries


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ProductRecord]]:
    root = tmp_path_factory.mktemp("storm-catalog")
    generate_catalog(root, options=GenerateOptions(products=PRODUCTS, views=INDEXED_VIEWS + 1, seed=5, image_size=128))
    records = [r.model_copy(update={"image_urls": r.image_urls[:INDEXED_VIEWS]})
               for r in catalog_records(root, site=SITE) if isinstance(r, ProductRecord)]
    assert len(records) == PRODUCTS
    return root, records


@pytest.fixture(scope="module")
def topology(native_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    base = native_cluster.settings or Settings()
    settings = base.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("storm-topology"), "kafka_bootstrap": native_cluster.kafka_bootstrap,
        "milvus_uri": native_cluster.milvus_uri, "solr_url": native_cluster.core_url,
        "collection": "storm_test",  # apart from the contract tests' collection
        "records_topic": f"{RUN}.records", "dead_letter_topic": f"{RUN}.dead-letter",
        "topology_name": RUN, "fetch_parallelism": 2, "embed_batch_size": 16, "writer_batch_size": 32,
        "max_spout_pending": 32, "message_timeout_s": 60, "device": "cpu", "allow_private_urls": True,
        "file_roots": [tmp_path_factory.getbasetemp()]})  # the catalogs of this session's tests
    yield from submitted(settings)


def image_ids(records: list[ProductRecord]) -> list[str]:
    return [ref.image_id for r in records for ref in r.images()]


def wait_until_indexed(settings: Settings, records: list[ProductRecord], timeout_s: float = 420,
                       on_progress=lambda n: None) -> None:  # type: ignore[no-untyped-def]
    vectors, metadata = build_vector_store(settings, dim=embedder_dim(settings)), build_metadata_store(settings)
    ids, keys = image_ids(records), [r.key for r in records]
    seen = [0, 0]

    def indexed() -> bool:
        seen[:] = sum(len(vectors.existing(ids[i:i + 500])) for i in range(0, len(ids), 500)), len(metadata.get(keys))
        on_progress(seen[0])
        return seen == [len(ids), len(keys)]

    try:
        wait_until(indexed, timeout_s=timeout_s, interval_s=1, what="indexing",
                   detail=lambda: f"{seen[0]}/{len(ids)} images, {seen[1]}/{len(keys)} products indexed")
    finally:
        vectors.close()
        metadata.close()


def storm_worker(settings: Settings):  # type: ignore[no-untyped-def]
    """The worker JVM that runs the topology (its Python components are its children)."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "org.apache.storm.daemon.worker.Worker" in cmdline and f"{settings.topology_name}-" in cmdline:
            return proc
    raise AssertionError(f"no Storm worker runs {settings.topology_name}")


def dead_letters(settings: Settings, expected: int, timeout_s: float = 60) -> list[dict]:  # type: ignore[type-arg]
    """The letters of the dead-letter topic once `expected` are there (or the timeout passed: the caller's checks name
    what is missing)."""
    found: list[dict] = []  # type: ignore[type-arg]

    def enough() -> bool:
        found[:] = [json.loads(m.value) for m in read_topic(settings, settings.dead_letter_topic)]
        return len(found) >= expected

    with suppress(WaitTimeout):
        wait_until(enough, timeout_s=timeout_s, interval_s=1)
    return found


def wait_committed_to_the_end(settings: Settings, timeout_s: float = 60) -> None:
    """The topology's consumer group commits every offset once every record is done."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin, consumer = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap), \
        KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        partitions = [TopicPartition(settings.records_topic, p)
                      for p in consumer.partitions_for_topic(settings.records_topic)]
        end = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()
               if offset > 0}  # a partition that never had a record has no committed offset
        committed: dict[int, int] = {}

        def at_the_end() -> bool:
            committed.clear()
            committed.update({tp.partition: meta.offset for tp, meta in
                              admin.list_group_offsets(settings.topology_name)[settings.topology_name].items()})
            return committed == end

        wait_until(at_the_end, timeout_s=timeout_s, interval_s=1, what="commits",
                   detail=lambda: f"committed {committed}, end of partitions {end}")
    finally:
        admin.close()
        consumer.close()


def test_ingests_searchably_survives_a_worker_crash_and_dead_letters_bad_input(topology: Settings, catalog) -> None:  # type: ignore[no-untyped-def]
    root, records = catalog
    first, second = records[:200], records[200:]
    producer = KafkaProducerQueue(topology)
    bad = [(None, b"{not json"), (f"{SITE}:p-missing", json.dumps({"site": SITE, "product_id": "p-missing"}).encode()),
           (f"{SITE}:gone", ProductRecord(site=SITE, product_id="gone", url="https://shop.example/gone", title="Gone",
                                             image_urls=((root / "no-such.jpg").as_uri(),)).to_json().encode()),
           (f"{SITE}:html", ProductRecord(site=SITE, product_id="html", url="https://shop.example/html", title="Html",
                                             image_urls=((root / "catalog.jsonl").as_uri(),)).to_json().encode())]
    try:
        # 1. Two hundred products, with malformed records in the same stream
        publish(producer, topology.records_topic, first[:100])
        producer.send(topology.records_topic, bad)
        publish(producer, topology.records_topic, first[100:])
        wait_until_indexed(topology, first)
        status = topology_status(topology)
        assert status.running
        assert status.components["fetch"].executors == topology.fetch_parallelism == 2  # the settings scale the bolts

        # 2. A held-out view finds its product
        embedder = build_embedder(topology)
        vectors = build_vector_store(topology, dim=embedder.dim)
        sample = first[::10]
        held_out = [decode_image((root / "images" / r.product_id / f"{INDEXED_VIEWS}.jpg").read_bytes(),
                                 decode_limits(topology)) for r in sample]
        hits = vectors.search(embedder.embed(held_out), k=5, where=SearchFilter(site=SITE))
        top1 = np.mean([h[0].product_key == r.key for h, r in zip(hits, sample)])
        print(f"\nheld-out views ranked first: {top1:.0%} of {len(sample)}")
        assert top1 >= 0.8

        # 3. Two hundred more, and the worker killed while it works on them
        worker = storm_worker(topology)
        publish(producer, topology.records_topic, second)
        killed = False

        def crash_midway(found: int) -> None:
            nonlocal killed
            if not killed and found >= len(image_ids(second)) // 4:
                os.kill(worker.pid, signal.SIGKILL)
                killed = True
        wait_until_indexed(topology, second, on_progress=crash_midway)
        assert killed, "the worker finished before it could be killed"
        assert storm_worker(topology).pid != worker.pid  # the supervisor started a new one
    finally:
        producer.close()

    # 4. Every image in both stores exactly once
    rows = vectors.client.query(topology.collection, filter=f'site == "{SITE}"', output_fields=["image_id"],
                                limit=16384)
    stored = [row["image_id"] for row in rows]
    assert len(stored) == len(set(stored)) == len(image_ids(records))
    assert set(stored) == set(image_ids(records))
    metadata = build_metadata_store(topology)
    assert len(metadata.query(where=SearchFilter(site=SITE), limit=10_000)) == PRODUCTS
    vectors.close()
    metadata.close()

    wait_committed_to_the_end(topology)

    # 5. Bad input went to the dead-letter topic with its reason
    letters = dead_letters(topology, expected=4)
    reasons = {(letter.get("product_key"), letter["reason"]) for letter in letters}
    assert (None, "invalid_record") in reasons
    assert (f"{SITE}:p-missing", "invalid_record") in reasons
    assert (f"{SITE}:gone", "not_found") in reasons
    assert (f"{SITE}:html", "not_an_image") in reasons


def stored_prices(vectors, key: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rows = vectors.client.query(vectors.collection, filter=f"product_key == {json.dumps(key)}",
                                output_fields=["image_id", "price"], limit=1000)
    return {row["image_id"]: round(float(row["price"]), 2) for row in rows}


def test_updates_deletions_and_late_replays_reach_both_stores(topology: Settings, catalog) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timedelta, timezone

    from snapmode.records import Tombstone

    _, records = catalog
    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

    def version(n: int, *, views: int, price: float, minutes: int) -> ProductRecord:
        base = records[n]
        return base.model_copy(update={"product_id": f"upd-{n}", "image_urls": base.image_urls[:views],
                                       "price": price, "crawled_at": t0 + timedelta(minutes=minutes)})

    first = [version(n, views=2, price=40.0, minutes=0) for n in range(3)]
    dropped, repriced = version(0, views=1, price=80.0, minutes=10), version(2, views=2, price=60.0, minutes=10)
    older = version(2, views=2, price=45.0, minutes=5)  # replayed after the newer version
    gone = Tombstone(site=SITE, product_id="upd-1", reason="http_410", crawled_at=t0 + timedelta(minutes=10))
    producer = KafkaProducerQueue(topology)
    try:
        publish(producer, topology.records_topic, first)
        wait_until_indexed(topology, first, timeout_s=300)
        publish(producer, topology.records_topic, [dropped, gone, repriced, older])
    finally:
        producer.close()
    wait_committed_to_the_end(topology, timeout_s=180)

    vectors, metadata = build_vector_store(topology, dim=embedder_dim(topology)), build_metadata_store(topology)
    try:
        assert stored_prices(vectors, dropped.key) == {ref.image_id: 80.0 for ref in dropped.images()}
        assert stored_prices(vectors, gone.key) == {} and metadata.get([gone.key]) == {}
        assert stored_prices(vectors, repriced.key) == {ref.image_id: 60.0 for ref in repriced.images()}
        assert {k: r.price for k, r in metadata.get([dropped.key, repriced.key]).items()} == {dropped.key: 80.0,
                                                                                              repriced.key: 60.0}
        query = vectors.fetch([dropped.images()[0].image_id])[dropped.images()[0].image_id]
        cheap = vectors.search(query[None, :], k=10, where=SearchFilter(site=SITE, price_max=50.0))[0]
        assert dropped.key not in {hit.product_key for hit in cheap}
    finally:
        vectors.close()
        metadata.close()


def test_a_reencoded_copy_is_marked_in_solr_by_the_topology(topology: Settings, catalog) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    root, records = catalog
    held_out = Path(records[5].image_urls[0].removeprefix("file://")).parent / f"{INDEXED_VIEWS}.jpg"
    image = Image.open(held_out).convert("RGB")  # a view no product indexed
    folder = root / "duplicates"
    folder.mkdir()
    image.save(folder / "a.jpg", "JPEG", quality=92)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)  # the same photo saved again: every such copy clears the threshold
    (folder / "b.jpg").write_bytes(out.getvalue())
    original = records[5].model_copy(update={"product_id": "dup-a", "image_urls": ((folder / "a.jpg").as_uri(),)})
    copy = records[5].model_copy(update={"product_id": "dup-b", "image_urls": ((folder / "b.jpg").as_uri(),)})
    producer = KafkaProducerQueue(topology)
    metadata = build_metadata_store(topology)
    try:
        publish(producer, topology.records_topic, [original])
        wait_until_indexed(topology, [original], timeout_s=300)
        publish(producer, topology.records_topic, [copy])
        wait_until_indexed(topology, [copy], timeout_s=300)
        marks = metadata.duplicate_marks([original.key, copy.key])
        assert marks[original.key] != original.key
        assert marks[copy.key] == (marks[original.key] or original.key)  # the original, or the one it repeats
        publish(producer, topology.records_topic, [copy, original])  # replays: the same marks
        wait_committed_to_the_end(topology, timeout_s=180)
        assert metadata.duplicate_marks([original.key, copy.key]) == marks
    finally:
        producer.close()
        metadata.close()


def test_every_dashboard_metric_is_in_a_scrape_of_the_api_and_the_topology(topology: Settings, catalog) -> None:  # type: ignore[no-untyped-def]
    """With a few products indexed and a malformed record dead-lettered, the topology's host serves its metrics, the
    API its own, and together they hold every metric the Grafana dashboard queries."""
    import httpx
    from fastapi.testclient import TestClient

    from snapmode.services.app import create_app
    from tests.conftest import jpeg_bytes
    from tests.deploy.test_observability import dashboard_metrics, family

    def families(text: str) -> set[str]:
        return {family(line.split()[0].split("{")[0]) for line in text.splitlines() if line and line[0] != "#"} | \
            {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}

    _, records = catalog
    producer = KafkaProducerQueue(topology)
    try:
        publish(producer, topology.records_topic, records[:3])
        producer.send(topology.records_topic, [(None, b"{not json")])
    finally:
        producer.close()
    wait_until_indexed(topology, records[:3])
    # the crawler's panels are checked against a scrape of a running crawl (tests/crawlers/test_metrics.py)
    wanted = {family(name) for name in dashboard_metrics() if not name.startswith("snapmode_crawl_")}
    with TestClient(create_app(topology)) as client:
        assert client.post("/search", files={"file": ("q.jpg", jpeg_bytes(), "image/jpeg")}).status_code == 200
        assert client.post("/search", data={"q": "dress"}).status_code == 200
        api = families(client.get("/metrics").text)

    def scraped() -> set[str]:
        try:
            text = httpx.get(f"http://127.0.0.1:{topology.topology_metrics_port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return set()
        return families(text)

    wait_until(lambda: wanted <= api | scraped(), timeout_s=90, interval_s=2,
               what="every dashboard metric in a scrape", detail=lambda: str(sorted(wanted - api - scraped())))
