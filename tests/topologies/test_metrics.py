"""The topology's Prometheus metrics: what several component processes record is summed on one port of the host,
served by whichever binds it first; events, dead letters by reason, batch sizes and step times."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from snapmode.infra.ports import free_port
from snapmode.waiting import wait_until

COMPONENT = textwrap.dedent("""
    import sys, time
    from snapmode.config import Settings
    from snapmode.logs import configure_logging
    from snapmode.topologies.component import Counters
    from snapmode.topologies.metrics import TopologyMetrics

    configure_logging()  # to stderr, as in a component: stdout is for the test
    settings = Settings(topology_metrics_dir=sys.argv[1], topology_metrics_port=int(sys.argv[2]),
                        topology_name="shop-ingest", _env_file=None)
    counters = Counters(sys.argv[3], 1, metrics=TopologyMetrics(settings, sys.argv[3]))
    counters.add("embedded", 5)
    counters.add("dead_lettered.not_an_image")
    counters.batch(5, "embed", 0.2)
    counters.lag("shop.records", 7)
    print("ready", flush=True)
    time.sleep(float(sys.argv[4]))
""")


def component(folder: Path, port: int, name: str, live_s: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", COMPONENT, str(folder), str(port), name, str(live_s)],
                            stdout=subprocess.PIPE, text=True)


def test_the_components_of_a_host_are_summed_on_one_port(tmp_path: Path) -> None:
    port = free_port()
    first, second = component(tmp_path, port, "embed", 30), component(tmp_path, port, "embed", 1)
    try:
        assert first.stdout.readline().strip() == "ready" and second.stdout.readline().strip() == "ready"
        second.wait(timeout=30)  # a component that stopped: what it counted stays counted

        def served() -> str:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return ""

        wait_until(lambda: "snapmode_topology_events_total" in served(), timeout_s=20, what="the metrics port")
        text = served()
    finally:
        first.kill()
    labels = 'component="embed",event="embedded",topology="shop-ingest"'
    assert f"snapmode_topology_events_total{{{labels}}} 10.0" in text
    assert ('snapmode_topology_dead_letters_total{component="embed",reason="not_an_image",topology="shop-ingest"} '
            "2.0") in text
    assert 'snapmode_topology_batch_size_count{component="embed",topology="shop-ingest"} 2.0' in text
    assert 'snapmode_topology_step_seconds_sum{component="embed",step="embed",topology="shop-ingest"} 0.4' in text
    # the lag is a live gauge: the component that ended no longer reports it
    assert 'snapmode_topology_lag{component="embed",topic="shop.records",topology="shop-ingest"} 7.0' in text
