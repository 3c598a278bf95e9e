"""Kafka 4 in KRaft mode: one process that is both broker and controller, storage formatted once."""

from __future__ import annotations

import base64
import subprocess
import uuid

from snapmode.infra.errors import ClusterError
from snapmode.infra.process import ProcessSpec
from snapmode.infra.services.base import HOST, Probe, Service


class KafkaService(Service):
    name = "kafka"
    port_field = "kafka"

    @property
    def _properties(self):  # type: ignore[no-untyped-def]
        return self.ctx.conf("kafka") / "server.properties"

    def prepare(self) -> None:
        controller = self.ctx.ports.kafka_controller
        log_dir = self.ctx.data("kafka")
        self._properties.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1", f"controller.quorum.voters=1@{HOST}:{controller}",
            f"listeners=PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{controller}",
            f"advertised.listeners=PLAINTEXT://{HOST}:{self.port}", "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={log_dir}", "num.partitions=1", "default.replication.factor=1", "min.insync.replicas=1",
            "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=true", "log.retention.hours=168",
            "num.network.threads=2", "num.io.threads=2", "background.threads=2"]) + "\n")
        if not (log_dir / "meta.properties").exists():
            self._format()

    def _format(self) -> None:
        """Format the KRaft metadata log once; a cluster id is the base64 of a random UUID, as Kafka writes it."""
        cluster_id = new_cluster_id()
        cmd = [*self.ctx.jvm(256, self.ctx.artifacts.classpath("kafka")), "kafka.tools.StorageTool", "format",
               "-t", cluster_id, "-c", str(self._properties)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise ClusterError("kafka: formatting the KRaft storage failed", (result.stdout + result.stderr)[-3000:])

    def processes(self) -> list[ProcessSpec]:
        cmd = [*self.ctx.jvm(self.ctx.jvm_heap_mb, self.ctx.artifacts.classpath("kafka")), "kafka.Kafka",
               str(self._properties)]
        return [ProcessSpec("kafka", cmd, ports=[self.port, self.ctx.ports.kafka_controller])]

    def probe(self) -> Probe:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(bootstrap_servers=self.url, request_timeout_ms=3000,
                                     bootstrap_timeout_ms=3000, client_id="snapmode-probe")
        except (KafkaError, OSError, ValueError) as exc:
            return Probe(False, f"metadata request failed: {exc}")
        try:
            topics = admin.list_topics()
            brokers = admin.describe_cluster().get("brokers", [])
            return Probe(bool(brokers), f"{len(brokers)} broker(s), {len(topics)} topic(s)")
        except (KafkaError, OSError) as exc:
            return Probe(False, f"metadata request failed: {exc}")
        finally:
            admin.close()


def new_cluster_id() -> str:
    """The base64 of a random UUID that does not start with '-', which the format tool would read as an option (Kafka's
    own `Uuid.randomUuid` skips those for the same reason)."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return cluster_id
