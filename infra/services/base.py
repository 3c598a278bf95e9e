"""What every service of the native cluster provides, and the context they share (dirs, ports, Java)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from snapmode.config import Settings
from snapmode.infra.artifacts import Artifacts, find_java
from snapmode.infra.process import ProcessSpec, ProcessTable

HOST = "127.0.0.1"
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


@dataclass(frozen=True)
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    zookeeper: int = 2181
    nimbus: int = 6627
    storm_workers: tuple[int, ...] = (6700, 6701)
    solr: int = 8983
    milvus: int = 19530
    redis: int = 6379


@dataclass(frozen=True)
class Context:
    """Where a cluster lives: `root/{conf,data,logs,run}/`, the artifact cache, ports and the JVM to use."""

    root: Path
    artifacts: Artifacts
    ports: Ports
    java_home: Path | None = None
    jvm_heap_mb: int = 512
    solr_auth: tuple[str, str] | None = None  # set: Solr requires this user and password (basic auth)
    redis_password: str | None = None  # set: Redis requires it (requirepass)
    milvus_segment_mb: int = Settings.model_fields["milvus_segment_mb"].default
    milvus_mmap: bool = Settings.model_fields["milvus_mmap"].default

    @property
    def table(self) -> ProcessTable:
        return ProcessTable(self.root)

    def conf(self, service: str) -> Path:
        path = self.root / "conf" / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def data(self, service: str) -> Path:
        path = self.root / "data" / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def java(self) -> Path:
        return find_java(self.java_home)

    def jvm(self, heap_mb: int, classpath: str, *props: str) -> list[str]:
        """A `java` command line tuned to start fast in little memory, logging through infra/conf/log4j2.xml."""
        return [str(self.java()), f"-Xmx{heap_mb}m", "-Xms32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Xss512k", "-XX:MaxMetaspaceSize=256m", "-Djava.awt.headless=true",
                "-Djava.net.preferIPv4Stack=true", f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.xml'}",
                *props, "-cp", classpath]


@dataclass(frozen=True)
class Probe:
    healthy: bool
    detail: str = ""


class Service(ABC):
    """A service of the cluster: one or more processes, ready when `probe()` says healthy."""

    name: str
    port_field: str  # the field of `Ports` that clients connect to
    url_template = "{host}:{port}"  # how SnapMode's settings address this service

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def port(self) -> int:
        """The port clients connect to."""
        return int(getattr(self.ctx.ports, self.port_field))

    @property
    def url(self) -> str:
        """How SnapMode's settings address this service."""
        return self.url_template.format(host=HOST, port=self.port)

    @abstractmethod
    def processes(self) -> list[ProcessSpec]:
        """The processes to start, in order."""

    def prepare(self) -> None:
        """Write config files and initialise storage; idempotent. Runs before the first process starts."""

    def after_start(self, spec: ProcessSpec, deadline: float) -> None:
        """Wait after starting `spec`, before the next process, when the next one needs it."""

    @abstractmethod
    def probe(self) -> Probe:
        """A real request to the running service."""
