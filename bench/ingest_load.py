"""Records offered to the topology all at once (its capacity) or at a fixed rate (freshness at a stated load), and the
time from publish to searchable of every image."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from snapmode.interfaces import VectorStore
from snapmode.queue.messages import Producer
from snapmode.records import ProductRecord
from snapmode.topologies.publish import publish

POLL_S = 0.25  # how often the vector store is asked which images are searchable: the freshness figures' resolution


@dataclass
class Watch:
    """When each image was published (time.time()) and when a poll first found it searchable."""

    vectors: VectorStore
    sent_at: dict[str, float] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)

    def sent(self, records: Sequence[object], at: float) -> None:
        self.sent_at.update({ref.image_id: at for r in records if isinstance(r, ProductRecord) for ref in r.images()})

    def poll(self) -> None:
        pending = [i for i in self.sent_at if i not in self.seen_at]
        for start in range(0, len(pending), 500):
            found = self.vectors.existing(pending[start:start + 500])
            now = time.time()  # found by now: an upper bound of when each became searchable
            self.seen_at.update({i: now for i in found})

    @property
    def done(self) -> bool:
        return len(self.seen_at) == len(self.sent_at)

    def freshness_s(self) -> list[float]:
        return [self.seen_at[i] - self.sent_at[i] for i in self.seen_at]

    def images_per_s(self) -> float:
        """Images made searchable per second, from the first publish to the last image found."""
        if not self.seen_at:
            return 0.0
        return len(self.seen_at) / max(max(self.seen_at.values()) - min(self.sent_at.values()), 1e-6)

    def steady_images_per_s(self) -> float:
        """Images made searchable per second between the 10th and the 90th percentile of their times: the rate once
        the pipeline is full, without its filling and draining."""
        times = np.sort(np.fromiter(self.seen_at.values(), dtype=float))
        if len(times) < 10:
            return self.images_per_s()
        low, high = int(0.1 * len(times)), int(0.9 * len(times))
        return (high - low) / max(float(times[high] - times[low]), 1e-6)


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    """(p50, p99), NaN for no values."""
    data = np.asarray(values or [float("nan")], dtype=float)
    return float(np.percentile(data, 50)), float(np.percentile(data, 99))


def offer_at_once(producer: Producer, topic: str, watch: Watch, records: Sequence[ProductRecord], timeout_s: float,
                  on_poll: Callable[[int], None] = lambda n: None) -> None:
    """Publish every record at once (in chunks of 100), then poll until all are searchable or `timeout_s` passed."""
    publish(producer, topic, records, on_sent=watch.sent)
    deadline = time.monotonic() + timeout_s
    while not watch.done and time.monotonic() < deadline:
        time.sleep(POLL_S)
        watch.poll()
        on_poll(len(watch.seen_at))


def offer_at_rate(producer: Producer, topic: str, watch: Watch, records: Sequence[ProductRecord], images_per_s: float,
                  timeout_s: float, on_poll: Callable[[int], None] = lambda n: None) -> float:
    """Publish one record at a time, paced so images arrive at `images_per_s`, polling meanwhile; then poll until every
    image is searchable or `timeout_s` passed. Returns the rate achieved (images/s between the first and last send,
    over as many intervals)."""
    started = time.monotonic()
    due, next_poll, sent = started, started + POLL_S, 0
    deadline, finished = float("inf"), started
    while not (sent == len(records) and watch.done) and time.monotonic() < deadline:
        now = time.monotonic()
        if sent < len(records) and now >= due:
            publish(producer, topic, [records[sent]], chunk=1, on_sent=watch.sent)
            due += len(records[sent].image_urls) / images_per_s
            sent += 1
            if sent == len(records):
                finished, deadline = time.monotonic(), time.monotonic() + timeout_s
            continue
        if now >= next_poll:
            watch.poll()
            on_poll(len(watch.seen_at))
            next_poll = time.monotonic() + POLL_S
        time.sleep(max(0.0, min(due if sent < len(records) else float("inf"), next_poll) - time.monotonic()))
    if not records:
        return 0.0
    images = sum(len(r.image_urls) for r in records)
    return images / max(finished - started + len(records[-1].image_urls) / images_per_s, 1e-6)
