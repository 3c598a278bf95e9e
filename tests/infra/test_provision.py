"""`snapmode cluster init` provisions the Kafka, Solr and Milvus that the settings name, through their own APIs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from snapmode.config import Settings
from snapmode.infra.errors import ClusterError
from snapmode.infra.provision import SOLR_CORE_CONFIG, SolrAdmin, Targets, zip_folder
from snapmode.infra.solr_security import password_hash, security_json
from tests.cluster import NativeCluster


def test_targets_come_from_the_settings() -> None:
    settings = Settings(kafka_bootstrap="kafka:9092", solr_url="http://solr:8983/solr/items/",  # type: ignore[call-arg]
                        collection="things", milvus_uri="http://milvus:19530", solr_password="x" * 20, _env_file=None)
    targets = Targets.from_settings(settings)
    assert (targets.kafka_bootstrap, targets.solr_node, targets.solr_core) == ("kafka:9092", "http://solr:8983/solr",
                                                                               "items")
    assert (targets.milvus_uri, targets.collection) == ("http://milvus:19530", "things")
    assert targets.solr_auth == ("snapmode", "x" * 20)
    assert targets.topics == {settings.records_topic: settings.kafka_partitions,
                              "snapmode-ingest.retry": settings.kafka_partitions, settings.dead_letter_topic: 1}


def test_without_urls_the_native_cluster_ports_are_the_targets() -> None:
    settings = Settings(solr_port=18000, milvus_port=19000, _env_file=None)  # type: ignore[call-arg]
    targets = Targets.from_settings(settings)
    assert targets.solr_node == "http://127.0.0.1:18000/solr" and targets.solr_core == "products"
    assert targets.milvus_uri == "http://127.0.0.1:19000"


def test_secrets_stay_out_of_the_shared_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(solr_password="p" * 20, redis_password="r" * 20, _env_file=None)  # type: ignore[call-arg]
    shared = settings.shareable()
    assert "solr_password" not in shared and "redis_password" not in shared
    monkeypatch.setenv("SNAPMODE_SOLR_PASSWORD", "from-the-worker-env")
    assert Settings.from_shared(shared).solr_auth == ("snapmode", "from-the-worker-env")


def test_solr_password_hash_is_the_one_solr_documents() -> None:
    # The example of Solr's reference guide (Basic Authentication Plugin): user solr, password SolrRocks.
    import base64

    salt = base64.b64decode("Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c=")
    assert password_hash("SolrRocks", salt) == ("IV0EHq1OnNrj6gvRCwvFwTrZ1+z1oBbnQdiVC3otuq0= "
                                                "Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c=")
    assert "SolrRocks" not in str(security_json("solr", "SolrRocks"))


def test_configset_zip_holds_the_core_config(tmp_path: Path) -> None:
    import io
    import zipfile

    (tmp_path / "lang").mkdir()
    (tmp_path / "schema.xml").write_text("<schema/>")
    (tmp_path / "lang" / "stopwords.txt").write_text("a")
    assert sorted(zipfile.ZipFile(io.BytesIO(zip_folder(tmp_path))).namelist()) == ["lang/stopwords.txt", "schema.xml"]


@pytest.mark.parametrize("refusal", ["Core with name 'products' already exists.",
                                     "Error CREATEing SolrCore 'products': Could not create a new core in "
                                     "/data/solr/products as another core is already defined there"])
def test_a_core_still_loading_after_a_restart_is_waited_for(refusal: str) -> None:
    # Solr lists a core only once it has loaded it; until then a CREATE is refused in one of two wordings.
    status_calls: list[int] = []

    def solr(request: httpx.Request) -> httpx.Response:
        action = request.url.params.get("action")
        if request.url.path.endswith("/admin/info/system"):
            return httpx.Response(200, json={"mode": "std"})
        if request.url.path.startswith("/api/configsets"):
            return httpx.Response(200, json={})
        if action == "STATUS":
            status_calls.append(1)
            loaded = len(status_calls) > 2
            return httpx.Response(200, json={"status": {"products": {"uptime": 5} if loaded else {}}})
        if action == "CREATE":
            return httpx.Response(400, json={"error": {"msg": refusal}})
        assert action == "RELOAD"
        return httpx.Response(200, json={})

    admin = SolrAdmin("http://solr:8983/solr")
    admin.client = httpx.Client(transport=httpx.MockTransport(solr))
    assert admin.ensure_core("products", SOLR_CORE_CONFIG, load_timeout_s=10).startswith("exists")
    assert len(status_calls) == 3


def init(env: dict[str, str], *only: str) -> subprocess.CompletedProcess[str]:
    """`snapmode cluster init` in a fresh process whose settings come from `env` alone."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SNAPMODE_")}
    return subprocess.run([sys.executable, "-m", "snapmode.cli.main", "cluster", "init",
                           *(["--only", ",".join(only)] if only else [])],
                          env={**base, **env}, capture_output=True, text=True, timeout=120)


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str]:
    """Settings that know no native cluster: an empty run dir, and native ports where nothing listens."""
    return {"SNAPMODE_ENV_FILE": str(tmp_path / "absent.env"), "SNAPMODE_DATA_DIR": str(tmp_path / "data"),
            "SNAPMODE_CLUSTER_DIR": str(tmp_path / "no-cluster"), "SNAPMODE_SOLR_PORT": "1",
            "SNAPMODE_MILVUS_PORT": "1", "SNAPMODE_KAFKA_PORT": "1"}


@pytest.mark.integration
def test_init_provisions_what_the_settings_name(native_cluster: NativeCluster, elsewhere: dict[str, str]) -> None:
    from kafka import KafkaAdminClient
    from pymilvus import MilvusClient

    name = f"prov_{uuid.uuid4().hex[:8]}"
    env = {**elsewhere, "SNAPMODE_KAFKA_BOOTSTRAP": native_cluster.kafka_bootstrap,
           "SNAPMODE_SOLR_URL": f"{native_cluster.solr_url}/{name}", "SNAPMODE_MILVUS_URI": native_cluster.milvus_uri,
           "SNAPMODE_COLLECTION": name, "SNAPMODE_RECORDS_TOPIC": f"{name}.records",
           "SNAPMODE_DEAD_LETTER_TOPIC": f"{name}.dead"}
    first = init(env)
    assert first.returncode == 0, first.stderr
    assert f"core {name}: created" in first.stderr and f"collection {name}: created" in first.stderr, first.stderr

    admin = KafkaAdminClient(bootstrap_servers=native_cluster.kafka_bootstrap)
    try:
        assert {f"{name}.records", f"{name}.dead"} <= set(admin.list_topics())
    finally:
        admin.close()
    status = httpx.get(f"{native_cluster.solr_url}/admin/cores",
                       params={"action": "STATUS", "core": name, "wt": "json"}, timeout=30).json()
    assert "uptime" in status["status"][name]
    fields = httpx.get(f"{native_cluster.solr_url}/{name}/schema/fields", params={"wt": "json"}, timeout=30).json()
    assert {"key", "record", "title"} <= {f["name"] for f in fields["fields"]}  # the schema of infra/solr
    client = MilvusClient(uri=native_cluster.milvus_uri)
    try:
        assert client.has_collection(name)
    finally:
        client.drop_collection(name)
        client.close()

    again = init(env, "kafka", "solr")
    assert again.returncode == 0, again.stderr
    assert "topics exist" in again.stderr and f"core {name}: exists" in again.stderr


@pytest.mark.integration
@pytest.mark.parametrize("service", ["kafka", "solr", "milvus"])
def test_unreachable_service_fails_in_one_line(service: str, elsewhere: dict[str, str], free_port: int) -> None:
    env = {**elsewhere, "SNAPMODE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port}",
           "SNAPMODE_SOLR_URL": f"http://127.0.0.1:{free_port}/solr/products",
           "SNAPMODE_MILVUS_URI": f"http://127.0.0.1:{free_port}"}
    result = init(env, service)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {service}: ") and str(free_port) in lines[0], result.stderr


@pytest.mark.integration
def test_solr_with_basic_auth(tmp_path: Path, free_port: int) -> None:
    """A native Solr started with credentials wants them: provisioning and the store use the settings' ones."""
    from snapmode.infra.cluster import Cluster, context_from_settings
    from snapmode.records import ProductRecord
    from snapmode.stores.factory import build_metadata_store

    password = uuid.uuid4().hex
    settings = Settings(data_dir=tmp_path / "data", cluster_dir=tmp_path / "cluster", solr_port=free_port,
                        solr_password=password, solr_url=f"http://127.0.0.1:{free_port}/solr/products",
                        _env_file=None)  # type: ignore[call-arg]
    cluster = Cluster(context_from_settings(settings), start_timeout_s=120)
    cluster.up(["solr"])
    try:
        node = f"http://127.0.0.1:{free_port}/solr"
        assert httpx.get(f"{node}/admin/cores", params={"action": "STATUS"}, timeout=30).status_code == 401
        with SolrAdmin(node) as anonymous, pytest.raises(ClusterError, match=r"^solr: .* refused \(HTTP 401\): "
                                                                            "check SNAPMODE_SOLR_USERNAME"):
            anonymous.ensure_core("products", SOLR_CORE_CONFIG)
        with SolrAdmin(node, settings.solr_auth) as solr:
            assert "created" in solr.ensure_core("products", SOLR_CORE_CONFIG)
        store = build_metadata_store(settings)
        record = ProductRecord(site="shop", product_id="p1", url="https://shop.example/p1", title="Red dress",
                               image_urls=["https://shop.example/p1.jpg"])
        store.upsert([record])
        assert list(store.get([record.key])) == [record.key]
    finally:
        cluster.down()


def test_kafka_cluster_ids_never_read_as_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid as uuid_module

    from snapmode.infra.services import kafka

    # 0xf8... encodes to '-', the first draw; the second draw is an ordinary one.
    draws = iter([uuid_module.UUID(bytes=b"\xf8" + bytes(15)), uuid_module.UUID(int=1)])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))
    cluster_id = kafka.new_cluster_id()
    assert cluster_id == "AAAAAAAAAAAAAAAAAAAAAQ"
