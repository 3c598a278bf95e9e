"""The compose stack's own commands and environment, run: `init`, `topology`, `crawler`, then `api` answering a search.

Without a Docker engine (build and CI machines), each Python service's rendered command runs here with its rendered
environment against the session's native cluster, the compose host names mapped to the cluster's loopback addresses.
Where an engine answers, the real images come up through testcontainers' compose support and answer the same search.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.infra.ports import free_port
from snapmode.pipeline.manifest import load_catalog
from snapmode.waiting import wait_until
from tests.cluster import NativeCluster
from tests.deploy.rendering import API_KEY, ROOT, SECRETS, render
from tests.loopback import LoopbackServer, directory_handler

pytestmark = pytest.mark.integration

COMPOSE_HOSTS = ("kafka:", "solr:", "milvus:", "redis://redis", "nimbus")
SNAPMODE = Path(sys.executable).parent / "snapmode"
# The operator's scaling knobs, rendered through compose; small, for a 2-core machine.
SCALE = {"SNAPMODE_FETCH_PARALLELISM": "2", "SNAPMODE_EMBED_PARALLELISM": "1", "SNAPMODE_WRITER_PARALLELISM": "1",
         "SNAPMODE_TOPOLOGY_WORKERS": "1"}


@dataclass(frozen=True)
class Loopback:
    """Where the compose addresses lead here, and this test's own namespace on the shared cluster."""

    cluster: NativeCluster
    redis_url: str  # a Redis of this test's own, started with the rendered password
    name: str  # Solr core, Milvus collection, topics and topology of this test

    def env(self, environment: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
        addresses = {"kafka:9092": self.cluster.kafka_bootstrap, "http://milvus:19530": self.cluster.milvus_uri,
                     "http://solr:8983/solr/products": f"{self.cluster.solr_url}/{self.name}",
                     "redis://redis:6379/0": self.redis_url, "nimbus": self.cluster.nimbus.rpartition(":")[0]}
        mapped = {name: addresses.get(value, value) for name, value in environment.items()}
        left = {name: value for name, value in mapped.items() if any(host in value for host in COMPOSE_HOSTS)}
        assert not left, f"compose addresses with no loopback mapping: {left}"
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        return {**base, **mapped, **extra, "SNAPMODE_COLLECTION": self.name, "SNAPMODE_TOPOLOGY_NAME": self.name,
                "SNAPMODE_RECORDS_TOPIC": f"{self.name}.records", "SNAPMODE_DEAD_LETTER_TOPIC": f"{self.name}.dead"}


def mime(path: Path) -> str:
    import mimetypes

    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def run_service(service: dict[str, Any], env: dict[str, str], *extra: str, timeout_s: float = 300
                ) -> subprocess.CompletedProcess[str]:
    command = [*(service.get("entrypoint") or []), *(service.get("command") or []), *extra]
    assert command[0] == "snapmode", command
    return subprocess.run([str(SNAPMODE), *command[1:]], env=env, capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """A 3-product shop on loopback: its URL, a photo of its first product, and that product's id."""
    from snapmode.datasets.catalog.site import render_site

    catalog = tmp_path / "shop"
    generate_catalog(catalog, products=3, views=2, seed=17)
    first = load_catalog(catalog)[0]
    with LoopbackServer(directory_handler(catalog / "site")) as server:
        render_site(catalog, base_url=server.base + "/")
        yield server.base + "/", first.image_paths(catalog)[0], first.product_id


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[str]:
    """A Redis that requires the stack's rendered password, as the compose one does; its URL."""
    from snapmode.infra.cluster import Cluster, context_from_settings

    settings = Settings(data_dir=tmp_path / "redis-data", cluster_dir=tmp_path / "redis", redis_port=free_port(),
                        redis_password=SECRETS["SNAPMODE_REDIS_PASSWORD"], _env_file=None)  # type: ignore[call-arg]
    cluster = Cluster(context_from_settings(settings), start_timeout_s=60)
    cluster.up(["redis"])
    try:
        yield cluster.services["redis"].url
    finally:
        cluster.down()


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, alive: subprocess.Popen[str] | None = None,
             log: Path | None = None) -> None:
    def done() -> bool:
        assert alive is None or alive.poll() is None, f"{what}: the process exited: {log.read_text() if log else ''}"
        return check()

    wait_until(done, timeout_s=timeout_s, interval_s=2, what=what)


def test_rendered_services_run_against_the_native_cluster(native_cluster: NativeCluster, tmp_path: Path,
                                                          redis_with_password: str, shop: tuple[str, Path, str]
                                                          ) -> None:
    """init, topology, crawler and api, each its rendered command and environment, in dependency order; the crawled
    shop goes through Kafka and Storm and the API finds its product from a photo."""
    stack = render(SCALE)["services"]
    loop = Loopback(native_cluster, redis_with_password, f"compose_{uuid.uuid4().hex[:8]}")
    local = {"SNAPMODE_DATA_DIR": str(tmp_path / "data"), "SNAPMODE_ENV_FILE": str(tmp_path / "absent.env"),
             "SNAPMODE_ALLOW_PRIVATE_URLS": "true"}  # the shop is on loopback
    url, query, product_id = shop

    init = run_service(stack["init"], loop.env(stack["init"]["environment"], local))
    assert init.returncode == 0, init.stderr
    assert f"core {loop.name}: created" in init.stderr and f"collection {loop.name}: created" in init.stderr

    topology_env = loop.env(stack["topology"]["environment"], local)
    api: subprocess.Popen[str] | None = None
    api_log = tmp_path / "api.log"
    try:
        submitted = run_service(stack["topology"], topology_env)
        assert submitted.returncode == 0, submitted.stderr
        crawled = run_service(stack["crawler"], loop.env(stack["crawler"]["environment"], local), url)
        assert crawled.returncode == 0, crawled.stderr
        assert "products sent 3" in re.sub(r"[^\w]+", " ", crawled.stdout + crawled.stderr), crawled.stdout

        port, command = free_port(), [*stack["api"]["command"]]
        command[command.index("--port") + 1], command[command.index("--host") + 1] = str(port), "127.0.0.1"
        api = subprocess.Popen([str(SNAPMODE), *command[1:]], env=loop.env(stack["api"]["environment"], local),
                               stdout=api_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        def found() -> bool:
            answer = httpx.post(f"{base}/search", files={"file": (query.name, query.read_bytes(), mime(query))},
                                data={"k": "3"}, headers=API_KEY, timeout=60)
            assert answer.status_code == 200, answer.text
            results = answer.json()["results"]
            return bool(results) and results[0]["product_id"] == product_id

        wait_for("the api's /healthz", healthy, 240, api, api_log)
        wait_for("the crawled product, indexed by the topology, found by a photo", found, 420, api, api_log)

        status = run_service({"command": ["snapmode", "topology", "status", "--json"]}, topology_env)
        components = json.loads(status.stdout)["components"]
        assert components["fetch"]["executors"] == int(SCALE["SNAPMODE_FETCH_PARALLELISM"])
        assert components["embed"]["executors"] == int(SCALE["SNAPMODE_EMBED_PARALLELISM"])
    finally:
        if api is not None and api.poll() is None:
            os.killpg(api.pid, signal.SIGTERM)
            api.wait(timeout=30)
        subprocess.run([str(SNAPMODE), "topology", "kill", "--wait", "0"], env=topology_env, capture_output=True,
                       timeout=120)
        from pymilvus import MilvusClient

        client = MilvusClient(uri=native_cluster.milvus_uri)
        client.drop_collection(loop.name)
        client.close()
        httpx.get(f"{native_cluster.solr_url}/admin/cores", params={"action": "UNLOAD", "core": loop.name,
                                                                   "deleteInstanceDir": "true"}, timeout=60)


def docker_engine_absent() -> str | None:
    """Why the Docker variant cannot run here, or None when an engine answers."""
    try:
        import docker

        docker.from_env().ping()
    except ImportError:
        return "the docker Python package is not installed"
    except Exception as exc:  # docker.errors.DockerException: no daemon answers
        return f"no Docker engine answers ({type(exc).__name__}); the native run above covers the stack"
    return None


def test_the_stack_on_a_docker_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reason = docker_engine_absent()
    if reason:
        pytest.skip(reason)
    from testcontainers.compose import DockerCompose

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    generate_catalog(tmp_path / "catalog", products=3, views=2, seed=17)
    first = load_catalog(tmp_path / "catalog")[0]
    query, product_id = first.image_paths(tmp_path / "catalog")[0], first.product_id
    with DockerCompose(ROOT, compose_file_name="docker-compose.yml", build=True, wait=True) as stack:
        stack.exec_in_container(["snapmode", "catalog", "generate", "--out", "/data/catalog", "--products", "3",
                                 "--views", "2", "--seed", "17", "--no-site"], service_name="api")
        stack.exec_in_container(["snapmode", "ingest", "/data/catalog"], service_name="api")
        host, port = stack.get_service_host_and_port("api", 8000)
        answer = httpx.post(f"http://{host}:{port}/search", data={"k": "3"}, timeout=120, headers=API_KEY,
                            files={"file": (query.name, query.read_bytes(), mime(query))})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["product_id"] == product_id
