"""The native cluster as a whole: start the chosen services in parallel, wait until healthy, report, stop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from snapmode.config import Settings
from snapmode.infra.artifacts import DEFAULT_ARTIFACTS_DIR, Artifacts
from snapmode.infra.errors import ClusterError
from snapmode.infra.process import tail
from snapmode.infra.services.base import Context, Ports, Service
from snapmode.infra.services.kafka import KafkaService
from snapmode.infra.services.milvus import MilvusService
from snapmode.infra.services.redis import RedisService
from snapmode.infra.services.solr import SolrService
from snapmode.infra.services.storm import StormService
from snapmode.waiting import WaitTimeout, wait_until

SERVICES: dict[str, type[Service]] = {"kafka": KafkaService, "storm": StormService, "solr": SolrService,
                                      "milvus": MilvusService, "redis": RedisService}
JVM_SERVICES = ("kafka", "storm", "solr")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    healthy: bool
    running: bool
    pid: int | None
    rss_mb: float | None
    port: int
    url: str
    detail: str
    ready_s: float | None  # seconds from launch to healthy at the last `up`
    processes: list[dict[str, object]]


def parse_only(only: str | None) -> list[str]:
    """Service names from "kafka,solr" (all when None/empty), refusing unknown names."""
    names = [n.strip() for n in (only or "").split(",") if n.strip()] or list(SERVICES)
    unknown = sorted(set(names) - set(SERVICES))
    if unknown:
        raise ClusterError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    return [n for n in SERVICES if n in names]


class Cluster:
    """The services of one run directory (`ctx.root`)."""

    def __init__(self, ctx: Context, start_timeout_s: float = 180.0) -> None:
        self.ctx = ctx
        self.start_timeout_s = start_timeout_s
        self.services = {name: cls(ctx) for name, cls in SERVICES.items()}
        self.state_file = ctx.root / "state.json"

    def up(self, names: Sequence[str], on_event: Callable[[str, str], None] = lambda s, m: None) -> dict[str, float]:
        """Start what is not running among `names`, wait until all are healthy; returns seconds to ready per service.

        A service already running and healthy is left as it is; `up` twice is a no-op.
        """
        started = time.monotonic()
        if any(n in JVM_SERVICES for n in names):
            java = self.ctx.java()
            self.ctx.artifacts.fetch(java, on_step=lambda step: on_event("artifacts", step))
        with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
            futures = {name: pool.submit(self._up_one, self.services[name], on_event) for name in names}
            errors, ready = [], {}
            for name, future in futures.items():
                try:
                    ready[name] = future.result()
                except ClusterError as exc:
                    errors.append(exc)
        state = self._state()
        state.setdefault("ready_s", {}).update(ready)
        state["up_s"] = round(time.monotonic() - started, 1)
        self._save_state(state)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ClusterError("\n\n".join(str(e) for e in errors))
        return ready

    def _up_one(self, service: Service, on_event: Callable[[str, str], None]) -> float:
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout_s
        specs = service.processes()
        if all(self.ctx.table.pid(spec.name) for spec in specs) and service.probe().healthy:
            on_event(service.name, "already running")
            return self._state().get("ready_s", {}).get(service.name, 0.0)
        on_event(service.name, "starting")
        service.prepare()
        for spec in specs:
            if self.ctx.table.pid(spec.name) is None:
                self.ctx.table.start(spec)
            service.after_start(spec, deadline)
        last = [""]

        def healthy() -> bool:
            probe = service.probe()
            last[0] = probe.detail
            if probe.healthy:
                return True
            for spec in specs:
                if self.ctx.table.pid(spec.name) is None:
                    raise ClusterError(f"{service.name}: process {spec.name} exited while starting "
                                       f"(log: {self.ctx.table.log(spec.name)})", tail(self.ctx.table.log(spec.name)))
            return False

        try:
            wait_until(healthy, timeout_s=max(0.0, deadline - time.monotonic()), interval_s=0.5)
        except WaitTimeout:
            logs = "\n".join(f"[{s.name}]\n{tail(self.ctx.table.log(s.name), 15)}" for s in specs)
            raise ClusterError(f"{service.name}: not healthy after {self.start_timeout_s:.0f} s "
                               f"(last probe: {last[0]})", logs) from None
        ready_s = round(time.monotonic() - t0, 1)
        on_event(service.name, f"healthy in {ready_s:.1f} s ({last[0]})")
        return ready_s

    def down(self, names: Iterable[str] | None = None) -> list[str]:
        """Stop the processes this run dir started (dependents first); returns the names of those that ran."""
        def stop(name: str) -> list[str]:  # within a service, in reverse start order
            return [p for p in reversed(self._process_names(name)) if self.ctx.table.stop(p)]

        names = list(reversed(list(names or SERVICES)))
        with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:  # services stop in parallel
            return [p for stopped in pool.map(stop, names) for p in stopped]

    def _process_names(self, name: str) -> list[str]:
        return ["zookeeper", "nimbus", "supervisor"] if name == "storm" else [name]

    def status(self, names: Iterable[str] | None = None) -> list[ServiceStatus]:
        ready = self._state().get("ready_s", {})
        out = []
        for name in names or SERVICES:
            service = self.services[name]
            procs = []
            for proc in self._process_names(name):
                procs.append({"name": proc, "pid": self.ctx.table.pid(proc), "rss_mb": self.ctx.table.rss_mb(proc)})
            running = all(p["pid"] for p in procs)
            probe = service.probe() if any(p["pid"] for p in procs) else None
            rss = [p["rss_mb"] for p in procs if p["rss_mb"] is not None]
            out.append(ServiceStatus(
                name=name, healthy=bool(running and probe and probe.healthy), running=running,
                pid=procs[-1]["pid"] if name != "storm" else procs[1]["pid"],  # type: ignore[arg-type]
                rss_mb=round(sum(rss), 1) if rss else None,  # type: ignore[arg-type]
                port=service.port, url=service.url, detail=probe.detail if probe else "not running",
                ready_s=ready.get(name), processes=procs))
        return out

    def status_json(self, names: Iterable[str] | None = None) -> dict[str, object]:
        statuses = self.status(names)
        rss = [s.rss_mb for s in statuses if s.rss_mb is not None]
        return {"services": {s.name: asdict(s) for s in statuses},
                "all_healthy": all(s.healthy for s in statuses), "total_rss_mb": round(sum(rss), 1),
                "up_s": self._state().get("up_s"), "run_dir": str(self.ctx.root)}

    def _state(self) -> dict:  # type: ignore[type-arg]
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict) -> None:  # type: ignore[type-arg]
        self.ctx.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))


def context_from_settings(settings: Settings) -> Context:
    """The cluster that `settings` describe: run dir, artifact cache, ports, Java."""
    ports = Ports(kafka=settings.kafka_port, kafka_controller=settings.kafka_controller_port,
                  zookeeper=settings.zookeeper_port, nimbus=settings.nimbus_port,
                  storm_workers=tuple(settings.storm_worker_ports), solr=settings.solr_port,
                  milvus=settings.milvus_port, redis=settings.redis_port)
    return Context(root=settings.cluster_run_dir.resolve(),
                   artifacts=Artifacts((settings.artifacts_dir or DEFAULT_ARTIFACTS_DIR).resolve()),
                   ports=ports, java_home=settings.java_home, solr_auth=settings.solr_auth,
                   redis_password=settings.redis_secret, milvus_segment_mb=settings.milvus_segment_mb,
                   milvus_mmap=settings.milvus_mmap)
