"""`cluster init`: the Kafka topics, the Solr core and the Milvus collection, created through each service's own API
at the addresses the settings name; idempotent. The native cluster's `up` calls the same code with its addresses."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from snapmode.config import Settings
from snapmode.infra.errors import ClusterError
from snapmode.stores.vector_index import VectorIndex
from snapmode.waiting import WaitTimeout, wait_until

SOLR_CORE_CONFIG = Path(__file__).resolve().parent / "solr" / "products" / "conf"
CONFIGSET_PREFIX = "snapmode-"  # the configset of core C is `snapmode-C`


@dataclass(frozen=True)
class Targets:
    """Where provisioning creates things: plain values, read once from the settings."""

    kafka_bootstrap: str
    topics: dict[str, int]
    solr_node: str  # e.g. http://solr:8983/solr
    solr_core: str
    solr_auth: tuple[str, str] | None
    milvus_uri: str
    collection: str
    index: VectorIndex = VectorIndex()

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        """Settings that name no Solr or Milvus (embedded mode) mean the native cluster's, on its ports."""
        node, _, core = settings.solr_core_url.rstrip("/").rpartition("/")
        return cls(kafka_bootstrap=settings.kafka_bootstrap,
                   topics={settings.records_topic: settings.kafka_partitions,
                           settings.retry_topic_name: settings.kafka_partitions, settings.dead_letter_topic: 1},
                   solr_node=node, solr_core=core, solr_auth=settings.solr_auth,
                   milvus_uri=settings.milvus_uri or f"http://127.0.0.1:{settings.milvus_port}",
                   collection=settings.collection, index=VectorIndex.from_settings(settings))


def provision(targets: Targets, names: list[str], dim: int) -> dict[str, str]:
    """Create what each service in `names` needs; returns one line per service saying what was done."""
    done: dict[str, str] = {}
    if "kafka" in names:
        created = create_topics(targets.kafka_bootstrap, targets.topics)
        done["kafka"] = f"topics created: {', '.join(created)}" if created else "topics exist"
    if "solr" in names:
        with SolrAdmin(targets.solr_node, targets.solr_auth) as solr:
            done["solr"] = f"core {targets.solr_core}: " + solr.ensure_core(targets.solr_core, SOLR_CORE_CONFIG)
    if "milvus" in names:
        done["milvus"] = f"collection {targets.collection}: " + ensure_milvus_collection(
            targets.milvus_uri, targets.collection, dim, targets.index)
    return done


def create_topics(bootstrap: str, topics: dict[str, int]) -> list[str]:
    """Create each topic with its partition count unless it exists; returns the topics created."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                 bootstrap_timeout_ms=15000, client_id="snapmode-init")
    except KafkaError as exc:
        raise ClusterError(f"kafka: cannot reach {bootstrap}: {_first_line(exc)}") from exc
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
        raise ClusterError(f"kafka: creating topics {sorted(topics)} at {bootstrap} failed: "
                           f"{_first_line(exc)}") from exc
    finally:
        admin.close()


class SolrAdmin:
    """Solr's own HTTP APIs: the configset upload (v2) and the core (standalone) or collection (SolrCloud) admin."""

    def __init__(self, node_url: str, auth: tuple[str, str] | None = None, *, timeout_s: float = 120.0) -> None:
        self.node = node_url.rstrip("/")
        parts = urlsplit(self.node)
        self.v2 = f"{parts.scheme}://{parts.netloc}/api"
        self.client = httpx.Client(auth=auth, timeout=timeout_s)

    def __enter__(self) -> SolrAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def ensure_core(self, core: str, conf: Path, load_timeout_s: float = 90.0) -> str:
        """Upload `conf` as configset `snapmode-<core>`, then create the core or collection from it, or reload it so
        a changed schema takes effect; returns what it did."""
        try:
            cloud = self._get(f"{self.node}/admin/info/system", "read the node's mode").get("mode") == "solrcloud"
            configset = CONFIGSET_PREFIX + core
            self._call("PUT", f"{self.v2}/configsets/{configset}", f"upload of configset {configset!r}",
                       params={"overwrite": "true"}, content=zip_folder(conf),
                       headers={"Content-Type": "application/octet-stream"})
            return self._ensure_collection(core, configset) if cloud else self._ensure_core(core, configset,
                                                                                           load_timeout_s)
        except httpx.HTTPError as exc:
            raise ClusterError(f"solr: cannot reach {self.node}: {_first_line(exc) or type(exc).__name__}") from exc

    def _ensure_core(self, core: str, configset: str, load_timeout_s: float) -> str:
        if not self._core_loaded(core):
            created = self._call("GET", f"{self.node}/admin/cores", f"creation of core {core!r}", accept_error=True,
                                 params={"action": "CREATE", "name": core, "configSet": configset, "wt": "json"})
            if created.status_code == 200:
                return f"created from configset {configset}"
            if not _core_already_there(_error(created)):  # registered, still loading after a restart: wait for it
                raise self._refused(f"creation of core {core!r}", created)
            try:
                wait_until(lambda: self._core_loaded(core), timeout_s=load_timeout_s, interval_s=0.5)
            except WaitTimeout:
                raise ClusterError(f"solr: core {core!r} exists but was not loaded within {load_timeout_s:.0f} s") \
                    from None
        self._call("GET", f"{self.node}/admin/cores", f"reload of core {core!r}",
                   params={"action": "RELOAD", "core": core, "wt": "json"})
        return f"exists (configset {configset} uploaded, reloaded)"

    def _ensure_collection(self, name: str, configset: str) -> str:
        listed = self._get(f"{self.node}/admin/collections", "list collections", params={"action": "LIST"})
        action = "RELOAD" if name in listed.get("collections", []) else "CREATE"
        params = {"action": action, "name": name, "wt": "json"}
        if action == "CREATE":
            params.update({"collection.configName": configset, "numShards": "1", "replicationFactor": "1"})
        self._call("GET", f"{self.node}/admin/collections", f"{action.lower()} of collection {name!r}", params=params)
        if action == "CREATE":
            return f"collection created from configset {configset}"
        return f"collection exists (configset {configset} uploaded, reloaded)"

    def _core_loaded(self, core: str) -> bool:
        status = self._get(f"{self.node}/admin/cores", f"status of core {core!r}",
                           params={"action": "STATUS", "core": core})
        return "uptime" in status.get("status", {}).get(core, {})

    def _get(self, url: str, what: str, params: dict[str, str] | None = None) -> dict[str, object]:
        resp = self._call("GET", url, what, params={**(params or {}), "wt": "json"})
        try:
            return dict(resp.json())
        except ValueError as exc:
            raise ClusterError(f"solr: {what} at {self.node}: the answer is not JSON") from exc

    def _call(self, method: str, url: str, what: str, *, accept_error: bool = False, **kwargs: object
              ) -> httpx.Response:
        resp = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        if resp.status_code == 401 or resp.status_code == 403:
            raise ClusterError(f"solr: {what} at {self.node} was refused (HTTP {resp.status_code}): check "
                               "SNAPMODE_SOLR_USERNAME and SNAPMODE_SOLR_PASSWORD")
        if resp.status_code != 200 and not accept_error:
            raise self._refused(what, resp)
        return resp

    def _refused(self, what: str, resp: httpx.Response) -> ClusterError:
        return ClusterError(f"solr: {what} at {self.node} failed (HTTP {resp.status_code}): {_error(resp)}")


def _core_already_there(error: str) -> bool:
    """Whether a refused CREATE means the core is already registered (by name, or by its instance dir on disk while
    the node is still loading it after a restart)."""
    return "already exists" in error or "another core is already defined there" in error


def zip_folder(folder: Path) -> bytes:
    """The files under `folder` as a zip, paths relative to it (the configset upload's body)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def ensure_milvus_collection(uri: str, collection: str, dim: int, index: VectorIndex = VectorIndex(),
                             timeout_s: float = 30.0) -> str:
    """The vector collection with its vector index, loaded; returns what it did."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    from snapmode.interfaces import StoreError
    from snapmode.stores.milvus import MilvusVectorStore

    try:
        probe = MilvusClient(uri=uri, timeout=timeout_s)
        try:
            existed = probe.has_collection(collection)
        finally:
            probe.close()
        MilvusVectorStore(uri=uri, collection=collection, dim=dim, index=index).close()
    except (MilvusException, StoreError) as exc:
        raise ClusterError(f"milvus: collection {collection!r} at {uri}: {_first_line(exc)}") from exc
    return "exists (loaded)" if existed else f"created ({dim}-d, {index.type}, loaded)"


def _error(resp: httpx.Response) -> str:
    """Solr's own error message of a refused request, on one line."""
    try:
        message = str(resp.json().get("error", {}).get("msg", ""))
    except ValueError:
        message = resp.text
    return _first_line(message)[:300] or resp.reason_phrase


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""
