"""Ask Nimbus (Thrift) about the topology: is it running, and what each component acked, failed and emitted."""

from __future__ import annotations

import warnings
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from snapmode.config import Settings
from snapmode.interfaces import StoreUnavailable
from snapmode.waiting import WaitTimeout, wait_until

ALL_TIME = ":all-time"


@dataclass
class ComponentStats:
    executors: int = 0
    emitted: int = 0
    acked: int = 0
    failed: int = 0
    executed: int = 0
    latency_ms: float = 0.0  # bolts: process latency; spout: complete latency (emit -> whole tree acked)

    def as_dict(self) -> dict[str, Any]:
        return {"executors": self.executors, "emitted": self.emitted, "acked": self.acked, "failed": self.failed,
                "executed": self.executed, "latency_ms": round(self.latency_ms, 1)}


@dataclass
class TopologyStatus:
    name: str
    running: bool
    status: str = "NOT RUNNING"
    uptime_s: int = 0
    workers: int = 0
    components: dict[str, ComponentStats] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # component -> its latest error

    @property
    def counters(self) -> dict[str, int]:
        """Records processed (indexed or dead-lettered, whole tree done), rescheduled (sent to the retry topic, each
        time) and retried (failed and replayed in place), products written, dead letters."""
        spouts = [self.stats("records"), self.stats("retries")]
        rescheduled = self.stats("reschedule").acked
        return {"processed": max(0, sum(s.acked for s in spouts) - rescheduled), "rescheduled": rescheduled,
                "retried": sum(s.failed for s in spouts), "products_written": self.stats("vectors").acked,
                "dead_lettered": self.stats("dead_letters").acked}

    def stats(self, component: str) -> ComponentStats:
        return self.components.get(component, ComponentStats())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "running": self.running, "status": self.status, "uptime_s": self.uptime_s,
                "workers": self.workers, "counters": self.counters,
                "components": {k: v.as_dict() for k, v in sorted(self.components.items())}, "errors": self.errors}


class NimbusUnavailable(StoreUnavailable):
    """Nimbus did not answer: the cluster is down or elsewhere."""


def nimbus_client(settings: Settings, timeout_ms: int = 10_000):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():  # streamparse's imports warn about pkg_resources and paramiko's ciphers
        warnings.simplefilter("ignore")
        from streamparse.util import get_nimbus_client
        from thriftpy2.transport import TTransportException

    try:
        return get_nimbus_client(host=settings.nimbus_host, port=settings.nimbus_port, timeout=timeout_ms)
    except (OSError, TTransportException) as exc:
        raise NimbusUnavailable(f"Nimbus at {settings.nimbus_host}:{settings.nimbus_port} does not answer ({exc}): "
                                "start the cluster with `snapmode cluster up`") from exc


def topology_status(settings: Settings, name: str | None = None) -> TopologyStatus:
    """The topology's state and all-time statistics per component; `running` False when Nimbus does not know it."""
    name = name or settings.topology_name
    client = nimbus_client(settings)
    summary = next((t for t in client.getClusterInfo().topologies if t.name == name), None)
    if summary is None:
        return TopologyStatus(name=name, running=False)
    info = client.getTopologyInfo(summary.id)
    status = TopologyStatus(name=name, running=summary.status == "ACTIVE", status=summary.status,
                            uptime_s=summary.uptime_secs, workers=summary.num_workers)
    latencies: dict[str, list[float]] = defaultdict(list)
    for executor in info.executors:
        stats = status.components.setdefault(executor.component_id, ComponentStats())
        stats.executors += 1
        if executor.stats is None:
            continue
        stats.emitted += sum(executor.stats.emitted.get(ALL_TIME, {}).values())
        specific = executor.stats.specific
        if specific.bolt is not None:
            stats.acked += sum(specific.bolt.acked.get(ALL_TIME, {}).values())
            stats.failed += sum(specific.bolt.failed.get(ALL_TIME, {}).values())
            stats.executed += sum(specific.bolt.executed.get(ALL_TIME, {}).values())
            latencies[executor.component_id] += list(specific.bolt.process_ms_avg.get(ALL_TIME, {}).values())
        elif specific.spout is not None:
            stats.acked += sum(specific.spout.acked.get(ALL_TIME, {}).values())
            stats.failed += sum(specific.spout.failed.get(ALL_TIME, {}).values())
            latencies[executor.component_id] += list(specific.spout.complete_ms_avg.get(ALL_TIME, {}).values())
    for component, values in latencies.items():
        values = [v for v in values if v]
        status.components[component].latency_ms = sum(values) / len(values) if values else 0.0
    status.errors = {component: errors[-1].error.splitlines()[0][:300]
                     for component, errors in (info.errors or {}).items() if errors}
    return status


def kill(settings: Settings, name: str | None = None, wait_s: int = 3, *, until_gone_s: float = 0) -> bool:
    """Kill the topology (its spouts stop, in-flight tuples get `wait_s` to finish); with `until_gone_s`, also wait
    until Nimbus has removed it. False when Nimbus does not know it."""
    from streamparse.thrift import KillOptions

    name = name or settings.topology_name
    client = nimbus_client(settings)
    if not _listed(client, name):
        return False
    client.killTopologyWithOpts(name=name, options=KillOptions(wait_secs=wait_s))
    with suppress(WaitTimeout):  # still listed: the caller goes on, as Storm finishes the kill by itself
        wait_until(lambda: not _listed(client, name), timeout_s=until_gone_s, interval_s=0.5)
    return True


def _listed(client, name: str) -> bool:  # type: ignore[no-untyped-def]
    return any(t.name == name for t in client.getClusterInfo().topologies)
