"""The native services' addresses, and Storm's probe against a Thrift Nimbus that answers like Storm's."""

from __future__ import annotations

import socketserver
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.infra.artifacts import Artifacts
from snapmode.infra.cluster import SERVICES, context_from_settings
from snapmode.infra.services.base import Context, Ports
from snapmode.infra.services.milvus import MilvusService
from snapmode.infra.services.storm import StormService

with warnings.catch_warnings():  # streamparse's imports warn about pkg_resources and paramiko's ciphers
    warnings.simplefilter("ignore")
    from streamparse import thrift as storm
from thriftpy2.rpc import make_server
from thriftpy2.transport import TFramedTransportFactory


def context(tmp_path: Path, **ports: int) -> Context:
    return Context(root=tmp_path / "cluster", artifacts=Artifacts(tmp_path / "artifacts"), ports=Ports(**ports))


def test_each_service_is_addressed_on_its_own_port(tmp_path: Path) -> None:
    ctx = context(tmp_path, kafka=1001, nimbus=1002, solr=1003, milvus=1004, redis=1005)
    services = {name: cls(ctx) for name, cls in SERVICES.items()}
    assert {name: s.port for name, s in services.items()} == {
        "kafka": 1001, "storm": 1002, "solr": 1003, "milvus": 1004, "redis": 1005}
    assert {name: s.url for name, s in services.items()} == {
        "kafka": "127.0.0.1:1001", "storm": "127.0.0.1:1002", "solr": "http://127.0.0.1:1003/solr",
        "milvus": "http://127.0.0.1:1004", "redis": "redis://127.0.0.1:1005/0"}


def test_the_milvus_server_gets_the_segment_and_mmap_settings(tmp_path: Path) -> None:
    pytest.importorskip("milvus", reason="the native cluster's Milvus server comes with the `milvus` package")
    settings = Settings(cluster_dir=tmp_path / "cluster", milvus_segment_mb=2048, milvus_mmap=True,
                        _env_file=None)  # type: ignore[call-arg]
    [spec] = MilvusService(context_from_settings(settings)).processes()
    data = tmp_path.resolve() / "cluster" / "data" / "milvus"
    assert spec.env == {"DATACOORD_SEGMENT_MAXSIZE": "2048", "DATACOORD_SEGMENT_SEALPROPORTION": "0.9",
                        "DATANODE_SEGMENT_INSERTBUFSIZE": str(64 * 2**20), "QUERYNODE_MMAPDIRPATH": str(data / "mmap")}
    [spec] = MilvusService(context_from_settings(settings.model_copy(update={"milvus_mmap": False}))).processes()
    assert spec.env["QUERYNODE_MMAPDIRPATH"] == ""  # over any in the environment: off
    [spec] = MilvusService(context(tmp_path, milvus=1004)).processes()
    assert spec.env["DATACOORD_SEGMENT_MAXSIZE"] == str(Settings.model_fields["milvus_segment_mb"].default)


class Standalone(socketserver.BaseRequestHandler):
    """Answers ZooKeeper's `srvr` like a standalone server."""

    def handle(self) -> None:
        self.request.recv(16)
        self.request.sendall(b"Zookeeper version: 3.9\nMode: standalone\n")


class Nimbus:
    """A leading Nimbus with one supervisor of two slots and no topology."""

    def getClusterInfo(self):  # type: ignore[no-untyped-def] # noqa: N802 - Storm's Thrift name
        supervisor = storm.SupervisorSummary(host="127.0.0.1", uptime_secs=5, num_workers=2, num_used_workers=0,
                                             supervisor_id="s1")
        nimbus = storm.NimbusSummary(host="127.0.0.1", port=6627, uptime_secs=9, isLeader=True, version="2.8.0")
        return storm.ClusterSummary(supervisors=[supervisor], topologies=[], nimbuses=[nimbus])


@pytest.fixture
def zookeeper() -> Iterator[int]:
    with socketserver.TCPServer(("127.0.0.1", 0), Standalone) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()


def test_storm_probe_asks_nimbus_through_streamparse(tmp_path: Path, zookeeper: int, free_port: int) -> None:
    server = make_server(storm.Nimbus, Nimbus(), "127.0.0.1", free_port, trans_factory=TFramedTransportFactory())
    server.trans.listen()
    answer_one = threading.Thread(target=lambda: server.handle(server.trans.accept()), daemon=True)
    answer_one.start()
    try:
        probe = StormService(context(tmp_path, zookeeper=zookeeper, nimbus=free_port)).probe()
    finally:
        server.trans.close()
    answer_one.join(timeout=5)
    assert probe.healthy, probe.detail
    assert probe.detail == "1 leading Nimbus, 1 supervisor(s), 2 slot(s), 0 topologies"


def test_storm_probe_without_nimbus_is_unhealthy(tmp_path: Path, zookeeper: int, free_port: int) -> None:
    probe = StormService(context(tmp_path, zookeeper=zookeeper, nimbus=free_port)).probe()
    assert not probe.healthy
    assert probe.detail.startswith("Nimbus getClusterInfo failed: TTransportException")


def test_the_workers_get_the_model_checkpoint_as_an_absolute_path(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from snapmode.infra.services.storm import worker_paths

    monkeypatch.chdir(tmp_path)
    assert worker_paths({"SNAPMODE_MODEL_CHECKPOINT": ".snapmode/models/short", "SNAPMODE_MODE": "cluster"}) == {
        "SNAPMODE_MODEL_CHECKPOINT": str(tmp_path / ".snapmode" / "models" / "short")}
    assert worker_paths({"SNAPMODE_MODEL_CHECKPOINT": "/opt/model"}) == {"SNAPMODE_MODEL_CHECKPOINT": "/opt/model"}
    assert worker_paths({"SNAPMODE_MODEL_CHECKPOINT": ""}) == worker_paths({}) == {}
