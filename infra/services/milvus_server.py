"""Run the Milvus standalone binary of the PyPI package `milvus` on fixed ports: render its config, then exec it.

The package's own `milvus-server` moves to the next free port when one is taken; the cluster wants a clear error
instead, and the server's own PID. Usage: python -m snapmode.infra.services.milvus_server DATA_DIR PORT; Milvus
settings come from the environment (`config_env`).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path


def milvus_ports(port: int) -> dict[str, int]:
    """Every port a Milvus standalone listens on, from its client port up (etcd's peer port is etcd_port + 1)."""
    names = ("proxy_port", "proxy_internal_port", "query_coord_port", "query_node_port", "index_coord_port",
             "index_node_port", "data_coord_port", "data_node_port", "root_coord_port", "etcd_port")
    ports = {name: port + i for i, name in enumerate(names)}
    ports["etcd_peer_port"] = ports["etcd_port"] + 1
    ports["metrics_port"] = port + len(names) + 1
    return ports


SEAL_PROPORTION = 0.9  # a segment is sealed (and indexed) near its size: Milvus's 0.23 makes many small ones
# The data node writes a growing segment's rows out each time this much is buffered, one stats log each. Milvus
# rewrites a sealed segment of more stats logs than 2 x maxSize / 64 MB (and rebuilds its index): at its 16 MB, every
# segment sealed above half of maxSize. At 64 MB a segment sealed at 90% has 0.9 x maxSize / 64 MB of them.
INSERT_BUFFER_BYTES = 64 * 2**20
MMAP_DIR = "mmap"  # under the data dir; Milvus empties it when it starts


def config_env(data_dir: Path, segment_mb: int, mmap: bool) -> dict[str, str]:
    """The settings SnapMode gives the server, as the environment variables that Milvus reads over its milvus.yaml
    (SECTION_KEY, as the compose stack's `milvus` service sets them): segments of `segment_mb` MB, sealed near that
    size and not rewritten for it, and with `mmap` the loaded segments memory-mapped from files in `data_dir`/mmap."""
    return {"DATACOORD_SEGMENT_MAXSIZE": str(segment_mb), "DATACOORD_SEGMENT_SEALPROPORTION": str(SEAL_PROPORTION),
            "DATANODE_SEGMENT_INSERTBUFSIZE": str(INSERT_BUFFER_BYTES),
            "QUERYNODE_MMAPDIRPATH": str(data_dir.resolve() / MMAP_DIR) if mmap else ""}


def _pin_embedded_etcd(config_dir: Path, client_port: int, peer_port: int) -> None:
    """The embedded etcd listens on 2379/2380 unless given its own config file: name the ports there."""
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    etcd_config = config_dir / "embed-etcd.yaml"
    etcd_config.write_text(f"name: default\nlisten-client-urls: {client}\nadvertise-client-urls: {client}\n"
                           f"listen-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\n"
                           f"initial-cluster: default={peer}\n")
    milvus_yaml = config_dir / "milvus.yaml"
    text = milvus_yaml.read_text()
    assert "\netcd:\n" in text, f"{milvus_yaml} has no etcd section"
    milvus_yaml.write_text(text.replace("\netcd:\n", f"\netcd:\n  config:\n    path: {etcd_config}\n", 1))


def main(argv: list[str]) -> None:
    from milvus import MilvusServerConfig, _initialize_data_files

    data_dir, port = Path(argv[0]).resolve(), int(argv[1])
    ports = milvus_ports(port)
    class FixedPorts(MilvusServerConfig):  # type: ignore[misc]
        def try_bind_port(self, port: int) -> socket.socket | None:
            """As the package does, but a port a server just left (TIME_WAIT) counts as free, as it does for Milvus."""
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
                return sock
            except OSError:
                sock.close()
                return None

    config = FixedPorts(data_dir=str(data_dir), **{k: v for k, v in ports.items()
                                                   if k not in ("metrics_port", "etcd_peer_port")})
    config.resolve()  # writes configs/milvus.yaml; raises when a fixed port is taken
    _pin_embedded_etcd(data_dir / "configs", ports["etcd_port"], ports["etcd_peer_port"])
    _initialize_data_files(str(data_dir))
    if mmap_dir := os.environ.get("QUERYNODE_MMAPDIRPATH"):
        Path(mmap_dir).mkdir(parents=True, exist_ok=True)
    binary = data_dir / "bin" / "milvus"
    env = {**os.environ, "DEPLOY_MODE": "STANDALONE", "METRICS_PORT": str(ports["metrics_port"]),
           "MILVUS_RUN_DIR": str(data_dir / "run"),
           "LD_LIBRARY_PATH": ":".join(p for p in (str(binary.parent), os.environ.get("LD_LIBRARY_PATH", "")) if p)}
    os.chdir(data_dir)
    os.execve(binary, [str(binary), "run", "standalone"], env)


if __name__ == "__main__":
    main(sys.argv[1:])
