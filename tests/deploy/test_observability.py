"""The `observability` profile: Prometheus scraping the API, every supervisor and the Pushgateway that crawls push to,
Grafana with the SnapMode dashboard provisioned from the repository; every metric the dashboard names is one SnapMode
defines. (That each is in a real scrape of the API and a running topology: tests/topologies/test_storm_ingest.py; of
a crawl: tests/crawlers/test_metrics.py.)"""

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
    sources = [ROOT / "services" / "metrics.py", ROOT / "topologies" / "metrics.py", ROOT / "crawlers" / "metrics.py"]
    pattern = r'(?:Counter|Histogram|Gauge)(?:MetricFamily)?\(\s*"(snapmode_[a-z_]+)"'  # a metric, or a collector's
    return {m for path in sources for m in re.findall(pattern, path.read_text())}


def test_every_dashboard_metric_is_defined() -> None:
    used = {family(name) for name in dashboard_metrics()}
    assert len(used) >= 8
    assert {"snapmode_crawl_responses", "snapmode_crawl_records", "snapmode_crawl_refusals"} <= used
    assert used <= defined_metrics()


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


def test_crawls_push_to_the_profile_s_pushgateway_when_told_to() -> None:
    pushing = render({"SNAPMODE_PUSHGATEWAY_URL": "http://pushgateway:9091"}, profiles=("observability", "crawl"))
    gateway = pushing["services"]["pushgateway"]
    assert re.fullmatch(r"prom/pushgateway:v\d+\.\d+\.\d+", gateway["image"])  # pinned
    assert not gateway.get("ports") and gateway["networks"].keys() == {"backend"}  # Prometheus and crawlers only
    assert pushing["services"]["crawler"]["environment"]["SNAPMODE_PUSHGATEWAY_URL"] == "http://pushgateway:9091"
    assert render(profiles=("crawl",))["services"]["crawler"]["environment"]["SNAPMODE_PUSHGATEWAY_URL"] == ""


def test_prometheus_scrapes_the_api_with_a_key_and_every_supervisor() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api, topology, crawls = jobs["snapmode-api"], jobs["snapmode-topology"], jobs["snapmode-pushgateway"]
    assert api["static_configs"][0]["targets"] == ["api:8000"]
    assert api["http_headers"]["X-API-Key"]["files"] == ["/run/secrets/prometheus_api_key"]
    assert topology["dns_sd_configs"][0] == {"names": ["supervisor"], "type": "A", "port": 9464}
    assert crawls["static_configs"][0]["targets"] == ["pushgateway:9091"]
    assert crawls["honor_labels"] is True  # the job and site that each crawl pushed
