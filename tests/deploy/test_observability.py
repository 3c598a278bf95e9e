"""The `observability` profile: Prometheus scraping the API and every supervisor, Grafana with the SnapMode dashboard
provisioned from the repository; every metric the dashboard names is one SnapMode defines. (That each is in a real
scrape of the API and a running topology: tests/topologies/test_storm_ingest.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.deploy.rendering import ROOT, render

OBSERVABILITY = ROOT / "infra" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "snapmode.json"
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def dashboard_metrics() -> set[str]:
    """The metric names of every query of the dashboard, as Prometheus stores them."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {name for panel in panels for target in panel["targets"]
            for name in re.findall(r"\bsnapmode_[a-z_]+", target["expr"])}


def family(name: str) -> str:
    return next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)


def defined_metrics() -> set[str]:
    sources = [ROOT / "services" / "metrics.py", ROOT / "topologies" / "metrics.py"]
    return {m for path in sources for m in re.findall(r'(?:Counter|Histogram|Gauge)\(\s*"(snapmode_[a-z_]+)"',
                                                      path.read_text())}


def test_every_dashboard_metric_is_defined() -> None:
    used = dashboard_metrics()
    assert len(used) >= 8
    assert {family(name) for name in used} <= defined_metrics()


def test_the_profile_runs_prometheus_and_grafana_on_the_repository_files() -> None:
    services = render(profiles=("observability",))["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    for service in (prometheus, grafana):
        for volume in service["volumes"]:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
    assert [(p["host_ip"], p["target"]) for p in grafana["ports"]] == [("127.0.0.1", 3000)]  # loopback only
    assert not prometheus.get("ports") and grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert services["supervisor"]["environment"]["SNAPMODE_TOPOLOGY_METRICS_HOST"] == "0.0.0.0"


def test_prometheus_scrapes_the_api_with_a_key_and_every_supervisor() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api, topology = jobs["snapmode-api"], jobs["snapmode-topology"]
    assert api["static_configs"][0]["targets"] == ["api:8000"]
    assert api["http_headers"]["X-API-Key"]["files"] == ["/run/secrets/prometheus_api_key"]
    assert topology["dns_sd_configs"][0] == {"names": ["supervisor"], "type": "A", "port": 9464}
