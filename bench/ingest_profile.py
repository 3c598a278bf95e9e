"""Where the CPU goes during `snapmode bench ingest`: CPU seconds of this topology's processes and of the cluster's."""

from __future__ import annotations

import os
from typing import Any

from snapmode.config import Settings

WORKER = "org.apache.storm.daemon.worker.Worker"
BENCH_PROCESS = "bench (this process)"  # the benchmark's own polling and publishing: not the pipeline's
# The cluster's services, by a piece of their command line (which also names the cluster's run directory).
SERVICES = {"milvus run": "milvus", "SolrNode": "solr", "kafka.Kafka": "kafka",
            "org.apache.storm.daemon.nimbus.Nimbus": "storm daemons", "org.apache.storm.daemon.supervisor": "storm daemons",
            "org.apache.zookeeper": "storm daemons"}


def _component(cmdline: str) -> str:
    """`streamparse_run -s json snapmode.topologies.embed.EmbedBolt` -> `EmbedBolt`."""
    return cmdline.split()[-1].rsplit(".", 1)[-1]


def cpu_seconds(settings: Settings) -> dict[str, float]:
    """CPU seconds used so far, per component class of the topology's Python processes, its worker JVMs, the
    services of the cluster in `settings.cluster_run_dir` and this process. Processes of other topologies and other
    clusters on the machine are left out."""
    import psutil

    run_dir = str(settings.cluster_run_dir.resolve())
    procs: list[tuple[Any, str]] = []
    workers: set[int] = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        procs.append((proc, cmdline))
        if WORKER in cmdline and f"-Dstorm.id={settings.topology_name}-" in cmdline:
            workers.add(proc.info["pid"])  # the worker JVM and the LogWriter JVM around it
    used: dict[str, float] = {}
    for proc, cmdline in procs:
        name = None
        if proc.info["pid"] in workers:
            name = "storm worker (JVM)"
        elif "streamparse_run" in cmdline:
            try:
                ancestors = {p.pid for p in proc.parents()}
            except psutil.Error:
                continue
            name = _component(cmdline) if ancestors & workers else None
        elif proc.info["pid"] == os.getpid():
            name = BENCH_PROCESS
        elif run_dir in cmdline:
            name = next((label for marker, label in SERVICES.items() if marker in cmdline), None)
        if name is None:
            continue
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        used[name] = used.get(name, 0.0) + times.user + times.system
    return used


def add_cpu(spent: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    """Add to `spent` the CPU seconds per component between two `cpu_seconds` readings."""
    for name, used in after.items():
        spent[name] = spent.get(name, 0.0) + used - before.get(name, 0.0)


def cpu_profile(spent: dict[str, float], images: int) -> dict[str, dict[str, float]]:
    """CPU seconds per component and milliseconds per image, largest first."""
    order = sorted(spent, key=lambda n: -spent[n])
    return {"cpu_s": {n: round(spent[n], 1) for n in order},
            "cpu_ms_per_image": {n: round(1000 * spent[n] / images, 1) for n in order} if images else {}}
