"""Missing tools, busy ports, services that never come up, stores that are down: clear, typed errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from snapmode.infra.artifacts import Artifacts, find_java
from snapmode.infra.cluster import Cluster, parse_only
from snapmode.infra.errors import ClusterError
from snapmode.infra.process import ProcessSpec, ProcessTable
from snapmode.infra.services.base import Context, Ports, Probe, Service
from snapmode.infra.services.redis import RedisService
from snapmode.interfaces import StoreError, StoreUnavailable
from snapmode.records import ProductRecord


def context(tmp_path: Path, **ports: int) -> Context:
    return Context(root=tmp_path / "cluster", artifacts=Artifacts(tmp_path / "artifacts"), ports=Ports(**ports))


def test_missing_java_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=r"Java 17\+ not found .*openjdk-17"):
        find_java(tmp_path / "no-jdk")


def test_old_java_is_refused(tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    java.chmod(0o755)
    with pytest.raises(ClusterError, match="is Java 11: the cluster needs Java 17"):
        find_java(tmp_path / "jdk")


def test_missing_maven_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = find_java()
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn anywhere
    artifacts = Artifacts(tmp_path / "artifacts")
    assert "kafka" in artifacts.missing()
    with pytest.raises(ClusterError, match=r"Maven \(mvn\) not found .*apt-get install maven"):
        artifacts.fetch(java)


def test_unknown_service_is_refused() -> None:
    assert parse_only("solr, kafka") == ["kafka", "solr"]
    assert parse_only(None) == ["kafka", "storm", "solr", "milvus", "redis"]
    with pytest.raises(ClusterError, match="unknown service.*hbase"):
        parse_only("solr,hbase")


def test_port_in_use_is_named(tmp_path: Path, free_port: int) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port))
        busy.listen()
        with pytest.raises(ClusterError, match=f"redis: port {free_port} on 127.0.0.1 is in use"):
            Cluster(context(tmp_path, redis=free_port)).up(["redis"])
    assert ProcessTable(tmp_path / "cluster").pid("redis") is None


class BrokenRedis(RedisService):
    """A real redis-server given a config it refuses."""

    def prepare(self) -> None:
        super().prepare()
        conf = self.ctx.root / "conf" / "redis" / "redis.conf"
        conf.write_text(conf.read_text() + "no-such-directive yes\n")


def test_a_service_that_exits_shows_its_log(tmp_path: Path, free_port: int) -> None:
    cluster = Cluster(context(tmp_path, redis=free_port))
    cluster.services["redis"] = BrokenRedis(cluster.ctx)
    with pytest.raises(ClusterError) as info:
        cluster.up(["redis"])
    assert "redis: process redis exited while starting" in str(info.value)
    assert "no-such-directive" in info.value.log_tail  # redis' own complaint, from its log


class Mute(Service):
    """A process that runs but never answers its probe."""

    name = "mute"
    port = 0
    url = ""

    def processes(self) -> list[ProcessSpec]:
        code = "print('warming up', flush=True); import time; time.sleep(60)"
        return [ProcessSpec("mute", [sys.executable, "-c", code], ports=[])]

    def probe(self) -> Probe:
        return Probe(False, "no answer on its port")


def test_a_service_that_never_gets_healthy_times_out_and_down_stops_it(tmp_path: Path) -> None:
    cluster = Cluster(context(tmp_path), start_timeout_s=2)
    cluster.services["mute"] = Mute(cluster.ctx)
    with pytest.raises(ClusterError, match=r"mute: not healthy after 2 s \(last probe: no answer") as info:
        cluster.up(["mute"])
    assert "warming up" in info.value.log_tail
    pid = cluster.ctx.table.pid("mute")
    assert pid is not None
    cluster._process_names = lambda name: [name]  # type: ignore[method-assign]
    assert cluster.down(["mute"]) == ["mute"]
    assert not _alive(pid)


def test_down_never_signals_a_process_it_did_not_start(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        table.run_dir.mkdir(parents=True)
        # A PID file whose process has gone, its PID since reused by another program.
        (table.run_dir / "kafka.pid").write_text(f'{{"pid": {stranger.pid}, "create_time": {time.time() - 3600}}}')
        assert table.pid("kafka") is None
        assert table.stop("kafka") is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("zombie") < 0


def record() -> ProductRecord:
    return ProductRecord.from_dict({"site": "shop", "product_id": "1", "url": "https://shop.example/1",
                                    "title": "Dress", "image_urls": ["https://shop.example/1.jpg"]})


def test_solr_down_is_a_retryable_error(free_port: int) -> None:
    from snapmode.stores.solr import SolrMetadataStore

    store = SolrMetadataStore(f"http://127.0.0.1:{free_port}/solr/products", timeout_s=2)
    with pytest.raises(StoreUnavailable, match="Solr at .* unavailable"):
        store.upsert([record()])
    with pytest.raises(StoreUnavailable):
        store.query("dress")
    store.close()


def test_milvus_down_is_a_retryable_error(free_port: int) -> None:
    from snapmode.stores.milvus import MilvusVectorStore

    with pytest.raises(StoreUnavailable, match="Milvus"):
        MilvusVectorStore(uri=f"http://127.0.0.1:{free_port}", collection="c", dim=4, timeout_s=2)


def test_store_errors_are_typed() -> None:
    assert issubclass(StoreUnavailable, StoreError)
