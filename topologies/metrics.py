"""Prometheus metrics of the topology's Python components, served for the whole host on one port.

Every component process (spouts and bolts are processes of their own under the Storm worker) writes its metrics into
one directory per host (prometheus_client's multiprocess mode), and whichever process first binds
`SNAPMODE_TOPOLOGY_METRICS_PORT` serves that directory's sum at `/metrics`; the others try again now and then, so
another takes over when it stops. One scrape per host sees every component of every topology on it, labelled."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from snapmode.config import Settings
from snapmode.logs import get_logger

log = get_logger(__name__)
RETRY_BIND_S = 5.0  # how soon another component serves the host when the serving one stops
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
FRESHNESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400)


def metrics_dir(settings: Settings) -> Path:
    """The host's metrics directory: `SNAPMODE_TOPOLOGY_METRICS_DIR`, else /dev/shm (or the temp dir)/snapmode-metrics."""
    if settings.topology_metrics_dir is not None:
        return settings.topology_metrics_dir
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / "snapmode-metrics"


class TopologyMetrics:
    """The metrics one component process records: events by name, dead letters by reason, batch sizes, step times."""

    def __init__(self, settings: Settings, component: str) -> None:
        folder = metrics_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # before prometheus_client is first imported here
        from prometheus_client import Counter, Gauge, Histogram

        self.folder, self.settings = folder, settings
        self.labels = {"topology": settings.topology_name, "component": component}
        names = ["topology", "component"]
        self.events = Counter("snapmode_topology_events", "What the components did (records in, images embedded, "
                              "written, retried, ...), by event", [*names, "event"])
        self.dead_letters = Counter("snapmode_topology_dead_letters", "Records and images dead-lettered, by reason",
                                    [*names, "reason"])
        self.batches = Histogram("snapmode_topology_batch_size", "Items per batch of the embed and writer bolts", names,
                                 buckets=BATCH_BUCKETS)
        self.seconds = Histogram("snapmode_topology_step_seconds", "Time of one batch step: embedding, a store write",
                                 [*names, "step"], buckets=SECONDS_BUCKETS)
        self.freshness_s = Histogram("snapmode_topology_freshness_seconds", "From a product's crawl to its record "
                                     "written: searchable", names, buckets=FRESHNESS_BUCKETS)
        self.lag_records = Gauge("snapmode_topology_lag", "Records of a topic the topology's group has not finished, "
                                 "by the spouts that read it", [*names, "topic"], multiprocess_mode="livesum")
        threading.Thread(target=self._serve_when_free, name="snapmode-metrics", daemon=True).start()

    def count(self, event: str, n: int = 1) -> None:
        if event.startswith("dead_lettered."):
            self.dead_letters.labels(**self.labels, reason=event.partition(".")[2]).inc(n)
        self.events.labels(**self.labels, event=event.partition(".")[0]).inc(n)

    def batch(self, size: int) -> None:
        self.batches.labels(**self.labels).observe(size)

    def step(self, name: str, seconds: float) -> None:
        self.seconds.labels(**self.labels, step=name).observe(seconds)

    def freshness(self, seconds: float) -> None:
        self.freshness_s.labels(**self.labels).observe(max(0.0, seconds))

    def lag(self, topic: str, records: int) -> None:
        self.lag_records.labels(**self.labels, topic=topic).set(records)

    def _serve_when_free(self) -> None:
        """Serve the host's metrics if the port is free; else try again later (another component serves them)."""
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        registry.register(LiveCollector(self.folder))
        while True:
            try:
                start_http_server(self.settings.topology_metrics_port, addr=self.settings.topology_metrics_host,
                                  registry=registry)
            except OSError:  # bound by another component of this host
                time.sleep(RETRY_BIND_S)
                continue
            log.info("topology.metrics_serving", port=self.settings.topology_metrics_port, folder=str(self.folder))
            return


class LiveCollector:
    """The sum of the folder's metrics, with the gauges of processes that have ended left out (a spout that stopped
    no longer reports its lag); counters and histograms keep what every process counted."""

    def __init__(self, folder: Path) -> None:
        from prometheus_client import multiprocess

        self.folder = folder
        self.summed = multiprocess.MultiProcessCollector(None, path=str(folder))

    def collect(self) -> Any:
        from prometheus_client import multiprocess

        for path in self.folder.glob("gauge_live*_*.db"):
            pid = int(path.stem.rpartition("_")[2])
            if not _alive(pid):
                multiprocess.mark_process_dead(pid, str(self.folder))
        return self.summed.collect()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def component_metrics(settings: Settings, component: str) -> Any:
    """The component's metrics, or a stand-in that records nothing when they are off (port 0)."""
    if settings.topology_metrics_port == 0:
        return NoMetrics()
    return TopologyMetrics(settings, component)


class NoMetrics:
    """Records nothing: metrics off, or a component outside a topology."""

    def count(self, event: str, n: int = 1) -> None:
        pass

    def batch(self, size: int) -> None:
        pass

    def step(self, name: str, seconds: float) -> None:
        pass

    def freshness(self, seconds: float) -> None:
        pass

    def lag(self, topic: str, records: int) -> None:
        pass
