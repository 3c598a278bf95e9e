"""`cluster init`: the Kafka topics, the Solr core and the Milvus collection SnapMode writes to; idempotent."""

from __future__ import annotations

import filecmp
import shutil
import time
from pathlib import Path

import httpx

from snapmode.infra.errors import ClusterError

SOLR_CORE_CONFIG = Path(__file__).resolve().parent / "solr" / "products" / "conf"


def create_topics(bootstrap: str, topics: dict[str, int]) -> list[str]:
    """Create each topic with its partition count unless it exists; returns the topics created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                             bootstrap_timeout_ms=15000, client_id="snapmode-init")
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items()
                  if name not in existing]
        if wanted:
            try:
                admin.create_topics(wanted, timeout_ms=15000)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    except KafkaError as exc:
        raise ClusterError(f"kafka: creating topics {sorted(topics)} at {bootstrap} failed: {exc}") from exc
    finally:
        admin.close()


def solr_core_loaded(solr_url: str, core: str) -> bool:
    status = httpx.get(f"{solr_url}/admin/cores", params={"action": "STATUS", "core": core, "wt": "json"},
                       timeout=30).json()
    return bool(status.get("status", {}).get(core, {}).get("instanceDir"))


def ensure_solr_core(solr_url: str, solr_home: Path, core: str, load_timeout_s: float = 90.0) -> str:
    """Create `core` from infra/solr's schema, or reload it when that schema changed; returns what it did.

    A core created by an earlier run is on disk (`core.properties`) and Solr loads it in the background after start:
    it is waited for, never created twice.
    """
    conf = solr_home / core / "conf"
    try:
        deadline = time.monotonic() + load_timeout_s
        while not (exists := solr_core_loaded(solr_url, core)) and (solr_home / core / "core.properties").exists():
            if time.monotonic() > deadline:
                raise ClusterError(f"solr: core {core!r} is on disk but was not loaded within {load_timeout_s:.0f} s")
            time.sleep(0.5)
        changed = not conf.exists() or any(
            not filecmp.cmp(SOLR_CORE_CONFIG / f.name, conf / f.name, shallow=False) if (conf / f.name).exists()
            else True for f in SOLR_CORE_CONFIG.iterdir())
        if changed:
            shutil.copytree(SOLR_CORE_CONFIG, conf, dirs_exist_ok=True)
        if not exists:
            params = {"action": "CREATE", "name": core, "instanceDir": core, "wt": "json"}
            action = "created"
        elif changed:
            params = {"action": "RELOAD", "core": core, "wt": "json"}
            action = "reloaded with the new schema"
        else:
            return "exists"
        resp = httpx.get(f"{solr_url}/admin/cores", params=params, timeout=120)
        if resp.status_code != 200:
            raise ClusterError(f"solr: {params['action']} of core {core!r} failed (HTTP {resp.status_code})",
                               resp.text[-3000:])
        return action
    except (httpx.HTTPError, ValueError) as exc:
        raise ClusterError(f"solr: cannot reach {solr_url}: {exc}") from exc


def ensure_milvus_collection(uri: str, collection: str, dim: int) -> str:
    """The vector collection with its HNSW index, loaded; returns what it did."""
    from pymilvus import MilvusClient

    from snapmode.interfaces import StoreError
    from snapmode.stores.milvus import MilvusVectorStore

    probe = MilvusClient(uri=uri, timeout=30)
    try:
        existed = probe.has_collection(collection)
    finally:
        probe.close()
    try:
        MilvusVectorStore(uri=uri, collection=collection, dim=dim).close()
    except StoreError as exc:
        raise ClusterError(f"milvus: collection {collection!r} at {uri}: {exc}") from exc
    return "exists (loaded)" if existed else f"created ({dim}-d, HNSW, loaded)"
