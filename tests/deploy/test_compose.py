"""docker-compose.yml is valid Compose v2 and wires every service the platform needs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import compose
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BIN = Path(compose.__file__).parent / "docker-compose"
SECRETS = {"MINIO_ROOT_USER": "snapmode", "MINIO_ROOT_PASSWORD": "not-a-default-secret"}


def compose_config(*args: str, env: dict[str, str], profile: str = "jobs") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMPOSE_BIN), "--profile", profile, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def test_compose_file_is_valid() -> None:
    result = compose_config("-q", env=SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = subprocess.run([str(COMPOSE_BIN), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert any(name in result.stderr for name in SECRETS), result.stderr


@pytest.mark.parametrize("service", ["kafka", "zookeeper", "nimbus", "supervisor", "solr", "milvus", "redis", "api"])
def test_compose_has_service(service: str) -> None:
    config = yaml.safe_load(compose_config(env=SECRETS).stdout)
    assert service in config["services"]


def test_bolt_parallelism_reaches_the_topology_submitter() -> None:
    config = yaml.safe_load(compose_config(env={**SECRETS, "SNAPMODE_EMBED_PARALLELISM": "5"}).stdout)
    assert config["services"]["topology"]["environment"]["SNAPMODE_EMBED_PARALLELISM"] == "5"
