"""Apache Storm: ZooKeeper, Nimbus and one Supervisor with worker slots, ready for topology submission."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

from snapmode.infra.errors import ClusterError
from snapmode.infra.process import ProcessSpec, tail
from snapmode.infra.services.base import CONF_DIR, HOST, Probe, Service
from snapmode.waiting import WaitTimeout, wait_until


PATH_SETTINGS = ("SNAPMODE_MODEL_CHECKPOINT",)  # paths that the workers read


def worker_paths(environ: Mapping[str, str]) -> dict[str, str]:
    """The path settings of `environ`, absolute: the workers inherit the supervisor's environment but run in Storm's
    home, where a path relative to where the cluster was started names nothing."""
    return {name: str(Path(environ[name]).resolve()) for name in PATH_SETTINGS if environ.get(name)}


def zookeeper_command(host: str, port: int, command: bytes, timeout_s: float = 2.0) -> str:
    """Send a ZooKeeper four-letter command and return its answer ("" when nothing answers)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(command)
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return ""


def nimbus_summary(host: str, port: int, timeout_s: float = 3.0):  # type: ignore[no-untyped-def]
    """Nimbus' `getClusterInfo()` through streamparse's Thrift client."""
    with warnings.catch_warnings():  # streamparse's imports warn about pkg_resources and paramiko's ciphers
        warnings.simplefilter("ignore")
        from streamparse.util import get_nimbus_client

    client = get_nimbus_client(host=host, port=port, timeout=int(timeout_s * 1000))
    try:
        return client.getClusterInfo()
    finally:
        client.close()


class StormService(Service):
    name = "storm"
    port_field = "nimbus"

    @property
    def home(self) -> Path:
        """STORM_HOME as Storm expects it: lib/ for the daemons, lib-worker/ for workers, conf/, log4j2/."""
        return self.ctx.root / "storm-home"

    def prepare(self) -> None:
        ports, artifacts = self.ctx.ports, self.ctx.artifacts
        home = self.home
        for sub in ("conf", "log4j2"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        for link, profile in (("lib", "storm"), ("lib-worker", "storm-worker")):
            path = home / link
            if path.is_symlink() or path.exists():
                path.unlink()
            path.symlink_to(artifacts.lib(profile), target_is_directory=True)
        shutil.copyfile(CONF_DIR / "log4j2.xml", home / "log4j2" / "cluster.xml")
        shutil.copyfile(CONF_DIR / "storm-worker.xml", home / "log4j2" / "worker.xml")
        conf = {
            "storm.zookeeper.servers": [HOST], "storm.zookeeper.port": ports.zookeeper,
            "storm.zookeeper.root": "/storm", "nimbus.seeds": [HOST], "nimbus.thrift.port": ports.nimbus,
            "supervisor.thrift.port": ports.nimbus + 1,  # Storm's default 6628 beside 6627: two clusters can coexist
            "storm.local.hostname": HOST, "storm.local.dir": str(self.ctx.data("storm")),
            "storm.log.dir": str(self.ctx.root / "logs" / "storm"),
            "supervisor.slots.ports": list(ports.storm_workers),
            "supervisor.memory.capacity.mb": 512.0 * len(ports.storm_workers) * 2,
            "worker.heap.memory.mb": 512, "worker.childopts": "-Xmx%HEAP-MEM%m -XX:+UseSerialGC -Xss512k",
            "supervisor.worker.timeout.secs": 120, "supervisor.worker.start.timeout.secs": 240,
            "nimbus.task.launch.secs": 240, "topology.subprocess.timeout.secs": 300,
            "storm.zookeeper.retry.times": 30, "storm.zookeeper.retry.interval": 1000,
        }
        (home / "conf" / "storm.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in conf.items()))
        zoo = self.ctx.conf("zookeeper") / "zoo.cfg"
        zoo.write_text("\n".join([
            "tickTime=2000", f"dataDir={self.ctx.data('zookeeper')}", f"clientPort={ports.zookeeper}",
            f"clientPortAddress={HOST}", "maxClientCnxns=100", "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr,mntr", "autopurge.snapRetainCount=3", "autopurge.purgeInterval=24"])
            + "\n")

    def processes(self) -> list[ProcessSpec]:
        ctx, home = self.ctx, self.home
        zk = [*ctx.jvm(128, ctx.artifacts.classpath("zookeeper"), "-Dzookeeper.admin.enableServer=false"),
              "org.apache.zookeeper.server.ZooKeeperServerMain", str(ctx.root / "conf" / "zookeeper" / "zoo.cfg")]
        storm_props = (f"-Dstorm.home={home}", f"-Dstorm.log.dir={ctx.root / 'logs' / 'storm'}",
                       f"-Dstorm.conf.file={home / 'conf' / 'storm.yaml'}")
        classpath = f"{ctx.artifacts.classpath('storm')}:{home / 'conf'}"
        nimbus = [*ctx.jvm(256, classpath, *storm_props, "-Dlogfile.name=nimbus.log"),
                  "org.apache.storm.daemon.nimbus.Nimbus"]
        supervisor = [*ctx.jvm(256, classpath, *storm_props, "-Dlogfile.name=supervisor.log"),
                      "org.apache.storm.daemon.supervisor.Supervisor"]
        env = {"STORM_HOME": str(home), "STORM_CONF_DIR": str(home / "conf"),
               "JAVA_HOME": str(ctx.java().resolve().parent.parent), **worker_paths(os.environ)}
        return [ProcessSpec("zookeeper", zk, ports=[ctx.ports.zookeeper], cwd=ctx.data("zookeeper")),
                ProcessSpec("nimbus", nimbus, ports=[ctx.ports.nimbus], cwd=home, env=env),
                ProcessSpec("supervisor", supervisor, ports=list(ctx.ports.storm_workers), cwd=home, env=env)]

    def _zookeeper_serving(self) -> bool:
        return "Mode: standalone" in zookeeper_command(HOST, self.ctx.ports.zookeeper, b"srvr")

    def after_start(self, spec: ProcessSpec, deadline: float) -> None:
        if spec.name != "zookeeper":
            return
        def serving() -> bool:
            if self._zookeeper_serving():
                return True
            if self.ctx.table.pid("zookeeper") is None:
                raise ClusterError("storm: ZooKeeper did not come up", tail(self.ctx.table.log("zookeeper")))
            return False

        try:
            wait_until(serving, timeout_s=max(0.0, deadline - time.monotonic()), interval_s=0.3)
        except WaitTimeout:
            raise ClusterError("storm: ZooKeeper did not come up", tail(self.ctx.table.log("zookeeper"))) from None

    def probe(self) -> Probe:
        if not self._zookeeper_serving():
            return Probe(False, "ZooKeeper is not serving requests")
        try:
            summary = nimbus_summary(HOST, self.port)
        except Exception as exc:  # noqa: BLE001 - any transport failure means "not healthy yet"
            return Probe(False, f"Nimbus getClusterInfo failed: {type(exc).__name__}: {exc}")
        leaders = [n for n in summary.nimbuses or [] if n.isLeader]
        supervisors = summary.supervisors or []
        slots = sum(s.num_workers or 0 for s in supervisors)
        detail = (f"{len(leaders)} leading Nimbus, {len(supervisors)} supervisor(s), {slots} slot(s), "
                  f"{len(summary.topologies or [])} topolog{'y' if len(summary.topologies or []) == 1 else 'ies'}")
        return Probe(bool(leaders) and bool(supervisors), detail)
