"""docker-compose.yml is valid Compose v2 and wires every service the platform needs."""

from __future__ import annotations

import pytest

from tests.deploy.rendering import SECRETS, compose_run, render


def test_compose_file_is_valid() -> None:
    result = compose_run("config", "-q", env=SECRETS)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(secret: str) -> None:
    result = compose_run("config", "-q", env={k: v for k, v in SECRETS.items() if k != secret})
    assert result.returncode != 0
    assert secret in result.stderr, result.stderr


@pytest.mark.parametrize("service", ["kafka", "zookeeper", "nimbus", "supervisor", "solr", "milvus", "redis", "api",
                                     "init", "topology", "crawler"])
def test_compose_has_service(service: str) -> None:
    assert service in render()["services"]


def test_bolt_parallelism_reaches_the_topology_submitter() -> None:
    config = render({"SNAPMODE_EMBED_PARALLELISM": "5", "SNAPMODE_FETCH_PARALLELISM": "16"})
    environment = config["services"]["topology"]["environment"]
    assert (environment["SNAPMODE_EMBED_PARALLELISM"], environment["SNAPMODE_FETCH_PARALLELISM"]) == ("5", "16")
