"""Fault injection on the native cluster: while the topology indexes products with updates, deletions and malformed
records mixed in, one component at a time is SIGKILLed (Solr, Milvus, the Kafka broker, the Storm worker, the Python
bolt subprocesses); a store or the broker stays down longer than every retry budget, then comes back. Afterwards both
stores must hold exactly the final state, by id: nothing lost, duplicated or stale, and no dead letter besides the
malformed records. The table of every fault is printed and written to test-artifacts/faults.md."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.interfaces import StoreError
from snapmode.pipeline.manifest import catalog_records
from snapmode.platform import embedder_dim
from snapmode.queue.backlog import Backlog, backlog
from snapmode.queue.kafka import KafkaProducerQueue
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_vector_store
from snapmode.topologies.publish import publish
from snapmode.waiting import wait_until
from tests.cluster import NativeCluster
from tests.faults.scenario import Audit, Scenario, audit
from tests.topologies.harness import submitted

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

RUN = f"faults-{int(time.time())}"  # topics, consumer group, site and collection rows of this run only
PRODUCTS = 24  # per fault, two images each
OUTAGE_S = 12.0  # a store or the broker stays down this long: longer than every retry budget below
RETRIES = {"store_retry_budget_s": 2.0, "retry_first_delay_s": 0.25, "retry_max_delay_s": 2.0,
           "solr_timeout_s": 3.0, "milvus_timeout_s": 5.0, "kafka_timeout_s": 10.0}
SERVICES = ("solr", "milvus", "kafka")
FAULTS = (*SERVICES, "storm-worker", "python-bolts")
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "faults.md"


@dataclass(frozen=True)
class Row:
    fault: str
    records: int
    indexed_at_kill: str
    down_s: float
    recovery_s: float
    result: Audit


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> list[ProductRecord]:
    root = tmp_path_factory.mktemp("faults-catalog")
    generate_catalog(root, options=GenerateOptions(products=PRODUCTS * len(FAULTS), views=2, seed=23, image_size=128))
    return [r for r in catalog_records(root, site=RUN) if isinstance(r, ProductRecord)]


@pytest.fixture(scope="module")
def topology(native_cluster: NativeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    if native_cluster.settings is None:
        pytest.skip("faults are injected into the native cluster's own processes")
    settings = native_cluster.settings.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("faults-topology"), "kafka_bootstrap": native_cluster.kafka_bootstrap,
        "milvus_uri": native_cluster.milvus_uri, "solr_url": native_cluster.core_url, "collection": "faults",
        "records_topic": f"{RUN}.records", "dead_letter_topic": f"{RUN}.dead-letter", "topology_name": RUN,
        "fetch_parallelism": 2, "embed_batch_size": 16, "writer_batch_size": 16, "max_spout_pending": 32,
        "message_timeout_s": 30, "device": "cpu", "allow_private_urls": True,
        "file_roots": [tmp_path_factory.getbasetemp()], **RETRIES})
    yield from submitted(settings)


@pytest.fixture(scope="module")
def table() -> Iterator[list[Row]]:
    rows: list[Row] = []
    started = time.monotonic()
    yield rows
    lines = ["| fault | records | indexed when killed | down (s) | recovery (s) | lost | duplicated | stale | "
             "dead letters (malformed) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.fault} | {r.records} | {r.indexed_at_kill} | {r.down_s:.1f} | {r.recovery_s:.1f} | "
              f"{r.result.lost} | {r.result.duplicated} | {r.result.stale} | "
              f"{r.result.dead_letters} ({r.result.malformed_letters}) |" for r in rows]
    text = "\n".join(lines) + f"\n\nfaults run in {time.monotonic() - started:.0f} s\n"
    print("\n" + text)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(text)


def cluster_of(native_cluster: NativeCluster):  # type: ignore[no-untyped-def]
    from snapmode.infra.cluster import Cluster, context_from_settings

    assert native_cluster.settings is not None
    return Cluster(context_from_settings(native_cluster.settings), start_timeout_s=120)


def sigkill(processes: list[psutil.Process]) -> None:
    """SIGKILL the processes and every descendant, and wait until they are gone."""
    group = [m for p in processes for m in [p, *p.children(recursive=True)]]
    for member in group:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(group, timeout=10)


def storm_worker(settings: Settings) -> psutil.Process:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "org.apache.storm.daemon.worker.Worker" in cmdline and f"{settings.topology_name}-" in cmdline:
            return proc
    raise AssertionError(f"no Storm worker runs {settings.topology_name}")


def python_bolts(settings: Settings) -> list[psutil.Process]:
    """The worker's multi-lang bolt subprocesses (fetch, embed, writers, deletions, dead letters)."""
    return [p for p in storm_worker(settings).children(recursive=True)
            if "streamparse_run" in " ".join(p.cmdline()) and "Bolt" in " ".join(p.cmdline())]


def indexed(settings: Settings, image_ids: list[str]) -> int:
    vectors = build_vector_store(settings, dim=embedder_dim(settings))
    try:
        return len(vectors.existing(image_ids))
    finally:
        vectors.close()


def converged(settings: Settings, scenario: Scenario, seen: list[Audit]) -> Callable[[], bool]:
    def check() -> bool:
        try:
            seen[:] = [audit(settings, scenario)]
        except StoreError:  # a store or the broker still coming back
            return False
        return seen[0].clean and seen[0].malformed_letters == len(scenario.malformed)
    return check


@pytest.mark.parametrize("fault", FAULTS)
def test_a_killed_component_loses_nothing(fault: str, topology: Settings, products: list[ProductRecord],
                                          table: list[Row], native_cluster: NativeCluster) -> None:
    n = FAULTS.index(fault)
    scenario = Scenario.of(fault, products[n * PRODUCTS:(n + 1) * PRODUCTS])
    ids = scenario.image_ids()
    producer = KafkaProducerQueue(topology)
    publish(producer, topology.records_topic, scenario.creates)
    first = wait_until(lambda: indexed(topology, ids), timeout_s=240, interval_s=0.2, what="the first images")
    cluster = cluster_of(native_cluster)
    killed_at = time.monotonic()
    changes = [*[(v.key, v.to_json().encode()) for v in scenario.changes], *scenario.malformed]
    if fault in SERVICES:
        sigkill([psutil.Process(cluster.ctx.table.pid(fault))])
        if fault != "kafka":  # updates, deletions and malformed records arrive while the store is away
            producer.send(topology.records_topic, changes)
        time.sleep(OUTAGE_S)  # the outage itself
        cluster.up([fault])
        if fault == "kafka":
            producer.close()
            producer = KafkaProducerQueue(topology)
            producer.send(topology.records_topic, changes)
    else:
        worker = storm_worker(topology)
        sigkill([worker] if fault == "storm-worker" else python_bolts(topology))
        producer.send(topology.records_topic, changes)
    producer.close()
    back_at = time.monotonic()

    seen: list[Audit] = []
    try:
        wait_until(converged(topology, scenario, seen), timeout_s=300, interval_s=2, what=f"recovery from {fault}",
                   detail=lambda: repr(seen[-1]) if seen else "no audit yet")
    finally:
        if seen:
            table.append(Row(fault, scenario.records, f"{first}/{len(ids)}", back_at - killed_at,
                             time.monotonic() - back_at, seen[-1]))
    if fault not in SERVICES:
        assert storm_worker(topology).pid != worker.pid  # the supervisor started a new worker
    result = seen[-1]
    assert (result.lost, result.duplicated, result.stale, result.dead_letters) == (0, 0, 0, 0)
    assert first < len(ids), "every image was indexed before the kill: nothing was in flight"
    # what `snapmode topology status` shows: nothing left to do or retry, only the malformed records dead-lettered
    left: list[Backlog] = []

    def done() -> bool:
        left[:] = [backlog(topology)]
        return left[0].total_lag == 0 and left[0].retrying == 0

    wait_until(done, timeout_s=60, interval_s=1, what="the backlog", detail=lambda: repr(left))
    assert set(left[0].dead_letters) == {"invalid_record"}  # the malformed records of this run, nothing else
