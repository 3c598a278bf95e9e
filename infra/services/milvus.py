"""Milvus standalone (etcd built in) from the PyPI package `milvus`, on ports `milvus_port` .. `milvus_port + 11`."""

from __future__ import annotations

import sys

from snapmode.infra.errors import ClusterError
from snapmode.infra.process import ProcessSpec
from snapmode.infra.services.base import Probe, Service
from snapmode.infra.services.milvus_server import config_env, milvus_ports


class MilvusService(Service):
    name = "milvus"
    port_field = "milvus"
    url_template = "http://{host}:{port}"

    def processes(self) -> list[ProcessSpec]:
        try:
            import milvus  # noqa: F401 - only to say clearly when it is missing
        except ImportError as exc:
            raise ClusterError("milvus: the PyPI package `milvus` (Milvus standalone server) is not installed: "
                               "pip install 'snapmode[cluster]'") from exc
        data = self.ctx.data("milvus")
        cmd = [sys.executable, "-m", "snapmode.infra.services.milvus_server", str(data), str(self.port)]
        return [ProcessSpec("milvus", cmd, ports=sorted(milvus_ports(self.port).values()),
                            env=config_env(data, self.ctx.milvus_segment_mb, self.ctx.milvus_mmap))]

    def probe(self) -> Probe:
        from pymilvus import MilvusClient, MilvusException

        try:
            client = MilvusClient(uri=self.url, timeout=3)
        except Exception as exc:  # noqa: BLE001 - pymilvus raises several types while the server starts
            return Probe(False, f"connect failed: {exc}")
        try:
            collections = client.list_collections(timeout=3)
            return Probe(True, f"collections: {', '.join(sorted(collections)) or 'none'}")
        except (MilvusException, OSError) as exc:
            return Probe(False, f"list_collections failed: {exc}")
        finally:
            client.close()
