"""The native cluster through `snapmode cluster`: real probes, idempotent `up`, data that survives down/up."""

from __future__ import annotations

import json

import httpx
import pytest
import redis
from typer.testing import CliRunner

from snapmode.cli.cluster import app
from snapmode.infra.services.milvus_server import INSERT_BUFFER_BYTES, SEAL_PROPORTION, milvus_ports
from snapmode.interfaces import StoreUnavailable
from snapmode.records import ProductRecord
from tests.cluster import NativeCluster

pytestmark = pytest.mark.integration


def run(*args: str):  # type: ignore[no-untyped-def]
    """`snapmode cluster ARGS`; a failure shows the command's output."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"snapmode cluster {' '.join(args)} failed:\n{result.output}"
    return result


@pytest.fixture
def cli(native_cluster: NativeCluster, cli_env):  # type: ignore[no-untyped-def]
    """Runs `snapmode cluster ...` against the session's cluster."""
    if native_cluster.settings is None:
        pytest.skip("external services: no run directory to manage (the cluster commands are tested when the "
                    "session starts its own cluster, as CI does)")
    cli_env(CLUSTER_DIR=native_cluster.settings.cluster_run_dir, DATA_DIR=native_cluster.settings.data_dir)
    return run


def status(cli) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """`status --json`, which exits 1 while a service is down."""
    result = CliRunner().invoke(app, ["status", "--json"])
    return json.loads(result.stdout)


def test_status_json_reports_every_service_healthy(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    services = report["services"]
    assert sorted(services) == ["kafka", "milvus", "redis", "solr", "storm"]
    for name, s in services.items():
        assert s["healthy"], f"{name}: {s['detail']}"
        assert s["pid"] > 0 and s["rss_mb"] > 0 and s["port"] > 0
    assert "1 leading Nimbus, 1 supervisor(s), 2 slot(s)" in services["storm"]["detail"]
    assert [p["name"] for p in services["storm"]["processes"]] == ["zookeeper", "nimbus", "supervisor"]
    assert "products" in services["solr"]["detail"] and "products" in services["milvus"]["detail"]
    print(f"\ncluster up in {report['up_s']} s; RSS {report['total_rss_mb']} MB: "
          + ", ".join(f"{n} {s['rss_mb']} MB (ready in {s['ready_s']} s)" for n, s in services.items()))


def test_milvus_runs_with_the_settings_segments_and_mmap(cli, native_cluster: NativeCluster) -> None:  # type: ignore[no-untyped-def]
    """The server's own view of its parameters (its metrics port's /expr, keyed by etcd's root path)."""
    settings = native_cluster.settings
    assert settings is not None
    metrics = milvus_ports(settings.milvus_port)["metrics_port"]

    def param(name: str) -> str:
        answer = httpx.get(f"http://127.0.0.1:{metrics}/expr", timeout=10,
                           params={"auth": "by-dev", "code": f"param.{name}.GetValue()"}).json()
        assert "output" in answer, answer
        return str(answer["output"])

    assert param("DataCoordCfg.SegmentMaxSize") == str(settings.milvus_segment_mb)
    assert float(param("DataCoordCfg.SegmentSealProportion")) == SEAL_PROPORTION
    assert param("DataNodeCfg.FlushInsertBufferSize") == str(INSERT_BUFFER_BYTES)
    mmap_dir = settings.cluster_run_dir.resolve() / "data" / "milvus" / "mmap"
    assert param("QueryNodeCfg.MmapDirPath") == (str(mmap_dir) if settings.milvus_mmap else "")


def test_up_twice_is_a_no_op(cli) -> None:  # type: ignore[no-untyped-def]
    before = {n: s["pid"] for n, s in status(cli)["services"].items()}
    result = cli("up")
    assert result.exit_code == 0, result.output
    assert result.output.count("already running") == 5
    assert {n: s["pid"] for n, s in status(cli)["services"].items()} == before


def test_redis_data_survives_down_and_up(cli, native_cluster: NativeCluster) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(native_cluster.redis_url)
    client.set("snapmode:test:survives", "yes")
    assert "stopped: redis" in cli("down", "--only", "redis").output
    assert not status(cli)["services"]["redis"]["healthy"]
    cli("up", "--only", "redis")
    assert client.get("snapmode:test:survives") == b"yes"
    client.close()


def test_solr_down_while_writing_loses_nothing(cli, native_cluster: NativeCluster) -> None:  # type: ignore[no-untyped-def]
    from snapmode.stores.solr import SolrMetadataStore

    store = SolrMetadataStore(native_cluster.core_url, timeout_s=5)
    first = ProductRecord.from_dict({"site": "shop", "product_id": "kept", "url": "https://shop.example/kept",
                                     "title": "Kept dress", "image_urls": ["https://shop.example/kept.jpg"]})
    late = first.model_copy(update={"product_id": "late", "title": "Late coat"})
    store.upsert([first])
    cli("down", "--only", "solr")
    with pytest.raises(StoreUnavailable):
        store.upsert([late])  # the caller keeps the record and retries
    cli("up", "--only", "solr")
    store.upsert([late])
    assert set(store.get(["shop:kept", "shop:late"])) == {"shop:kept", "shop:late"}
    store.close()
