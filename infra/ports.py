"""Free loopback ports: one the system picks, or a run of consecutive ones."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on now, picked by the system."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int, low: int = 20_000, high: int = 60_000) -> int:
    """The first port of `count` consecutive free loopback ports."""
    for base in range(low, high - count, count + 7):
        if all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports between {low} and {high}")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
