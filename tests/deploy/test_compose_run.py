"""The compose stack's own commands and environment, run: `init`, then `api` answering a search.

Without a Docker engine (build and CI machines), each Python service's rendered command runs here with its rendered
environment against the session's native cluster, the compose host names mapped to the cluster's loopback addresses.
Where an engine answers, the real images come up through testcontainers' compose support and answer the same search.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapmode.catalog.generate import generate_catalog
from snapmode.catalog.manifest import load_catalog
from tests.cluster import NativeCluster
from tests.deploy.rendering import ROOT, SECRETS, render

pytestmark = pytest.mark.integration

COMPOSE_HOSTS = ("kafka:", "solr:", "milvus:", "redis://redis", "nimbus")
SNAPMODE = Path(sys.executable).parent / "snapmode"


def loopback(environment: dict[str, str], cluster: NativeCluster, core: str) -> dict[str, str]:
    """The rendered environment with each compose address replaced by the native cluster's; a fresh Solr core and
    Milvus collection of this test's own (`core`)."""
    addresses = {"kafka:9092": cluster.kafka_bootstrap, "http://solr:8983/solr/products": f"{cluster.solr_url}/{core}",
                 "http://milvus:19530": cluster.milvus_uri, "redis://redis:6379/0": cluster.redis_url,
                 "nimbus": cluster.nimbus.rpartition(":")[0]}
    mapped = {name: addresses.get(value, value) for name, value in environment.items()}
    left = {name: value for name, value in mapped.items() if any(host in value for host in COMPOSE_HOSTS)}
    assert not left, f"compose addresses with no loopback mapping: {left}"
    return {**mapped, "SNAPMODE_COLLECTION": core}


def mime(path: Path) -> str:
    import mimetypes

    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def run_service(service: dict[str, Any], env: dict[str, str], *extra: str, timeout_s: float = 300
                ) -> subprocess.CompletedProcess[str]:
    command = [*(service.get("entrypoint") or []), *service["command"], *extra]
    assert command[0] == "snapmode", command
    return subprocess.run([str(SNAPMODE), *command[1:]], env=env, capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def photos(tmp_path: Path) -> tuple[Path, Path, str]:
    """A 3-product catalog, a photo of its first product, and that product's id."""
    catalog = tmp_path / "catalog"
    generate_catalog(catalog, products=3, views=2, seed=17)
    first = load_catalog(catalog)[0]
    return catalog, first.image_paths(catalog)[-1], first.product_id


def test_rendered_services_run_against_the_native_cluster(native_cluster: NativeCluster, tmp_path: Path,
                                                          free_port: int, photos: tuple[Path, Path, str]) -> None:
    stack = render()["services"]
    core = f"compose_{uuid.uuid4().hex[:8]}"
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    local = {"SNAPMODE_DATA_DIR": str(tmp_path / "data"), "SNAPMODE_ENV_FILE": str(tmp_path / "absent.env"),
             "SNAPMODE_ALLOW_PRIVATE_URLS": "true"}

    init_env = {**base, **loopback(stack["init"]["environment"], native_cluster, core), **local}
    init = run_service(stack["init"], init_env)
    assert init.returncode == 0, init.stderr
    assert f"core {core}: created" in init.stderr and f"collection {core}: created" in init.stderr, init.stderr

    catalog, query, product_id = photos
    ingest = subprocess.run([str(SNAPMODE), "ingest", str(catalog)], env=init_env, capture_output=True, text=True,
                            timeout=600)
    assert ingest.returncode == 0, ingest.stderr

    api_env = {**base, **loopback(stack["api"]["environment"], native_cluster, core), **local}
    command = [*stack["api"]["command"]]
    command[command.index("--port") + 1] = str(free_port)
    command[command.index("--host") + 1] = "127.0.0.1"
    api = subprocess.Popen([str(SNAPMODE), *command[1:]], env=api_env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{free_port}"
        deadline = time.monotonic() + 240
        while True:
            assert api.poll() is None, f"the api exited: {api.stdout.read() if api.stdout else ''}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the api did not answer /healthz within 240 s"
            time.sleep(1)
        answer = httpx.post(f"{url}/search", files={"file": (query.name, query.read_bytes(), mime(query))},
                            data={"k": "3"}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["product_id"] == product_id
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
        from pymilvus import MilvusClient

        client = MilvusClient(uri=native_cluster.milvus_uri)
        client.drop_collection(core)
        client.close()
        httpx.get(f"{native_cluster.solr_url}/admin/cores", params={"action": "UNLOAD", "core": core,
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


def test_the_stack_on_a_docker_engine(monkeypatch: pytest.MonkeyPatch, photos: tuple[Path, Path, str]) -> None:
    reason = docker_engine_absent()
    if reason:
        pytest.skip(reason)
    from testcontainers.compose import DockerCompose

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    catalog, query, product_id = photos
    with DockerCompose(ROOT, compose_file_name="docker-compose.yml", build=True, wait=True) as stack:
        stack.exec_in_container(["snapmode", "catalog", "generate", "--out", "/data/catalog", "--products", "3",
                                 "--views", "2", "--seed", "17", "--no-site"], service_name="api")
        stack.exec_in_container(["snapmode", "ingest", "/data/catalog"], service_name="api")
        host, port = stack.get_service_host_and_port("api", 8000)
        answer = httpx.post(f"http://{host}:{port}/search", data={"k": "3"}, timeout=120,
                            files={"file": (query.name, query.read_bytes(), mime(query))})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["product_id"] == product_id
