"""One shop down does not stall the others, on the native cluster: the records of an image host where nothing listens,
published first, go to the retry topic while a healthy shop's records behind them are indexed; the host comes back
within the retry window and all its records are indexed; a host that never comes back is dead-lettered once a
record, after the window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.infra.ports import free_port
from snapmode.pipeline.manifest import catalog_records
from snapmode.platform import embedder_dim
from snapmode.queue.backlog import Backlog, backlog
from snapmode.queue.kafka import KafkaProducerQueue
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.nimbus import topology_status
from snapmode.topologies.publish import publish
from snapmode.waiting import wait_until
from tests.loopback import LoopbackServer, directory_handler
from tests.topologies.harness import submitted
from tests.topologies.test_storm_ingest import dead_letters, wait_until_indexed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RUN = f"dead-hosts-{int(time.time())}"
DOWN, HEALTHY, GONE = 300, 100, 20  # records of the host that comes back, of the healthy shop, of the one that never does
WINDOW_S = 150.0  # the retry window: the host that comes back does so well within it
SEARCHABLE_S = 120.0  # the bound for the healthy shop's products


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ProductRecord]]:
    """A catalog of one photo per product: the first DOWN products' photos are on the host that is down at first,
    the next HEALTHY on the healthy shop, the last GONE on a host that never answers."""
    root = tmp_path_factory.mktemp("dead-hosts-catalog")
    generate_catalog(root, options=GenerateOptions(products=DOWN + HEALTHY + GONE, views=2, seed=31, image_size=128))
    records = [r for r in catalog_records(root, site=RUN) if isinstance(r, ProductRecord)]
    return root, records


@pytest.fixture(scope="module")
def topology(native_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    base = native_cluster.settings or Settings()
    settings = base.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("dead-hosts-topology"), "kafka_bootstrap": native_cluster.kafka_bootstrap,
        "milvus_uri": native_cluster.milvus_uri, "solr_url": native_cluster.core_url, "collection": "dead_hosts",
        "records_topic": f"{RUN}.records", "dead_letter_topic": f"{RUN}.dead-letter", "topology_name": RUN,
        "fetch_parallelism": 2, "embed_batch_size": 16, "writer_batch_size": 32, "max_spout_pending": 64,
        "message_timeout_s": 60, "device": "cpu", "allow_private_urls": True, "fetch_timeout_s": 2.0,
        "fetch_retry_delay_s": 3.0, "fetch_retry_max_delay_s": 10.0, "fetch_retry_window_s": WINDOW_S,
        "host_breaker_failures": 3, "host_breaker_cooldown_s": 5.0})
    yield from submitted(settings)


def served_from(base: str, root: Path, records: list[ProductRecord]) -> list[ProductRecord]:
    """The records with their first photo served over http at `base` (the catalog's folder layout)."""
    return [r.model_copy(update={"image_urls": (f"{base}/{Path(r.image_urls[0].removeprefix('file://')).relative_to(root)}",)})
            for r in records]


def stored(settings: Settings, records: list[ProductRecord]) -> tuple[int, int]:
    """Images in the vector store and products in the metadata store, of `records`."""
    vectors, metadata = build_vector_store(settings, dim=embedder_dim(settings)), build_metadata_store(settings)
    try:
        ids = [ref.image_id for r in records for ref in r.images()]
        return len(vectors.existing(ids)), len(metadata.get([r.key for r in records]))
    finally:
        vectors.close()
        metadata.close()


def test_a_shop_down_stalls_no_other_and_is_indexed_when_back(topology: Settings, shop) -> None:  # type: ignore[no-untyped-def]
    root, records = shop
    down_port, gone_port = free_port(), free_port()
    assert down_port != gone_port
    down_host, gone_host = f"127.0.0.1:{down_port}", f"127.0.0.1:{gone_port}"
    with LoopbackServer(directory_handler(root)) as healthy_shop:
        down = served_from(f"http://127.0.0.1:{down_port}", root, records[:DOWN])
        healthy = served_from(healthy_shop.base, root, records[DOWN:DOWN + HEALTHY])
        gone = served_from(f"http://127.0.0.1:{gone_port}", root, records[DOWN + HEALTHY:])
        producer = KafkaProducerQueue(topology)
        try:
            first_published = time.monotonic()
            publish(producer, topology.records_topic, [*down, *gone])
            publish(producer, topology.records_topic, healthy)
            healthy_published = time.monotonic()
        finally:
            producer.close()

        # 1. The healthy shop is searchable within the bound while the dead hosts' records wait in the retry topic
        wait_until_indexed(topology, healthy, timeout_s=SEARCHABLE_S)
        searchable_s = time.monotonic() - healthy_published
        print(f"\nhealthy shop: {HEALTHY} products searchable {searchable_s:.1f} s after publishing, behind "
              f"{DOWN + GONE} records of hosts that were down")
        assert stored(topology, down) == (0, 0)
        waiting: list[Backlog] = []

        def all_shown_waiting() -> bool:  # what `snapmode topology status` shows: no lag, every dead record waiting
            waiting[:] = [backlog(topology)]
            hosts = waiting[0].waiting
            return (waiting[0].total_lag == 0 and set(hosts) == {down_host, gone_host}
                    and hosts[down_host].records == DOWN and hosts[gone_host].records == GONE)

        wait_until(all_shown_waiting, timeout_s=30, interval_s=1, what="the waiting hosts in the backlog",
                   detail=lambda: repr(waiting))
        assert {waiting[0].waiting[host].breaker for host in (down_host, gone_host)} <= {"open", "half-open"}

        # 2. The host comes back within the window: every one of its records is indexed
        assert time.monotonic() - first_published < WINDOW_S - 60, "the healthy shop took too long to test the rest"
        with LoopbackServer(directory_handler(root), port=down_port):
            back = time.monotonic()
            wait_until_indexed(topology, down, timeout_s=WINDOW_S)
            print(f"the host back {back - first_published:.0f} s after the first records: its {DOWN} products "
                  f"searchable {time.monotonic() - back:.1f} s later")

    # 3. The host that never came back: its records dead-lettered after the window, once each, with their reason
    letters = dead_letters(topology, expected=GONE, timeout_s=WINDOW_S + 60)
    print(f"the host that never came back: {len(letters)} letters {time.monotonic() - first_published:.0f} s after "
          f"its records were published (window {WINDOW_S:.0f} s)")
    by_key: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for letter in letters:
        by_key.setdefault(letter.get("product_key"), []).append(letter)
    assert sorted(by_key) == sorted(r.key for r in gone)  # nothing of the others
    assert all(len(mine) == 1 and mine[0]["reason"] == "unreachable" and mine[0]["payload"]
               for mine in by_key.values())
    assert stored(topology, gone) == (0, 0)

    left: list[Backlog] = []

    def done() -> bool:
        left[:] = [backlog(topology)]
        return left[0].total_lag == 0 and left[0].retrying == 0 and not left[0].waiting

    wait_until(done, timeout_s=60, interval_s=1, what="the backlog", detail=lambda: repr(left))
    counters: dict[str, int] = {}

    def counted() -> bool:  # Storm's own counters: every record processed, the dead hosts' ones rescheduled on the way
        counters.update(topology_status(topology).counters)
        return (counters["processed"] >= DOWN + HEALTHY + GONE and counters["rescheduled"] >= DOWN + GONE
                and counters["dead_lettered"] >= GONE)

    wait_until(counted, timeout_s=90, interval_s=2, what="Storm's counters", detail=lambda: repr(counters))
