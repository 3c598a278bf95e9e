"""What every Python component of the topology shares: settings from the topology config, logs, counters."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from snapmode.config import Settings
from snapmode.logs import configure_logging, get_logger
from snapmode.topologies.metrics import NoMetrics, component_metrics
from snapmode.topologies.stderr import unblock_stderr

SETTINGS_KEY = "snapmode.settings"  # topology config entry holding the settings, as submitted


def settings_from_conf(storm_conf: dict[str, Any]) -> Settings:
    """The settings the topology was submitted with; they travel in the topology config, secrets excepted: those
    come from the worker's environment (the supervisor's)."""
    return Settings.from_shared(storm_conf.get(SETTINGS_KEY, {}))


class Counters:
    """Counts what a component did and logs the totals as one structured line, at most every `every_s` seconds."""

    def __init__(self, component: str, task: object, every_s: float = 10.0, metrics: Any = None) -> None:
        self.log = get_logger(f"snapmode.topologies.{component}")
        self.component = component
        self.task = task
        self.every_s = every_s
        self.metrics = metrics if metrics is not None else NoMetrics()  # Prometheus (topologies/metrics.py)
        self.totals: Counter[str] = Counter()
        self._last = time.monotonic()

    def add(self, name: str, n: int = 1) -> None:
        self.totals[name] += n
        self.metrics.count(name, n)
        self.maybe_log()

    def freshness(self, seconds: float) -> None:
        """A product became searchable `seconds` after its crawl."""
        self.metrics.freshness(seconds)

    def lag(self, topic: str, records: int) -> None:
        """Records of `topic` not finished yet, in this task's partitions."""
        self.metrics.lag(topic, records)

    def batch(self, size: int, step: str, seconds: float) -> None:
        """A batch of `size` items took `seconds` in `step` (embedding, a store write)."""
        self.metrics.batch(size)
        self.metrics.step(step, seconds)

    def maybe_log(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.totals and (force or now - self._last >= self.every_s):
            self._last = now
            self.log.info("topology.counters", component=self.component, task=self.task, **self.totals)


def setup_component(storm_conf: dict[str, Any], context: dict[str, Any]) -> tuple[Settings, Counters]:
    """Settings and counters of a starting component; structured logs go to stderr, which Storm keeps in the worker
    log (stdout is the multi-lang protocol), through a queue that never blocks the component (`unblock_stderr`)."""
    settings = settings_from_conf(storm_conf)
    unblock_stderr()
    configure_logging(settings.log_level, json=True)
    component = context.get("componentid", "component")
    return settings, Counters(component, context.get("taskid"), metrics=component_metrics(settings, component))
