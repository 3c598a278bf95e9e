"""The session's native cluster: started once for the integration tests that ask for it, stopped at the end.

`SNAPMODE_TEST_SERVICES=external` uses the disposable services that the `SNAPMODE_*` URLs name instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from snapmode.config import Settings


@dataclass(frozen=True)
class NativeCluster:
    kafka_bootstrap: str
    solr_url: str  # the node; the test core is at f"{solr_url}/{core}"
    core: str
    milvus_uri: str
    redis_url: str
    nimbus: str
    settings: Settings | None  # the settings that started it (None for external services)

    @property
    def core_url(self) -> str:
        return f"{self.solr_url}/{self.core}"


def cluster_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "data", cluster_dir=root / "cluster", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def native_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeCluster]:
    if os.environ.get("SNAPMODE_TEST_SERVICES") == "external":
        s = Settings()
        assert s.solr_url and s.milvus_uri and s.redis_url, "external services need SNAPMODE_SOLR_URL, _MILVUS_URI, _REDIS_URL"
        node, _, core = s.solr_url.rstrip("/").rpartition("/")
        yield NativeCluster(s.kafka_bootstrap, node, core, s.milvus_uri, s.redis_url, f"127.0.0.1:{s.nimbus_port}", None)
        return

    from snapmode.cli.cluster import provision
    from snapmode.infra.cluster import SERVICES, Cluster, context_from_settings
    from snapmode.infra.errors import ClusterError

    settings = cluster_settings(tmp_path_factory.mktemp("native-cluster"))
    cluster = Cluster(context_from_settings(settings), start_timeout_s=settings.cluster_start_timeout_s)
    try:
        cluster.up(list(SERVICES))
        provision(settings, list(SERVICES))
    except ClusterError as exc:
        cluster.down()
        pytest.fail(f"the native cluster did not start: {exc}", pytrace=False)
    report = cluster.status_json()
    print(f"\nnative cluster up in {report['up_s']} s, {report['total_rss_mb']} MB RSS: " + ", ".join(
        f"{name} {s['rss_mb']} MB" for name, s in report["services"].items()))  # type: ignore[union-attr]
    services = cluster.services
    try:
        yield NativeCluster(services["kafka"].url, services["solr"].url, settings.collection, services["milvus"].url,
                            services["redis"].url, services["storm"].url, settings)
    finally:
        cluster.down()
