"""Publish product records and tombstones to the records topic, keyed by product key, acknowledged by every in-sync
replica."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable

from snapmode.pipeline.steps import Rejection
from snapmode.queue.messages import Producer
from snapmode.records import Versioned

Item = Versioned | Rejection


def message(item: Item) -> tuple[str | None, bytes] | None:
    """The (key, value) of a record or tombstone; a `Rejection` carrying its raw input (a malformed line) goes as it is, since
    validating is the topology's job and it routes such input to the dead-letter topic."""
    if isinstance(item, Rejection):
        return (item.product_key, item.payload.encode()) if item.payload is not None else None
    return item.key, item.to_json().encode()


def publish(producer: Producer, topic: str, items: Iterable[Item], *, chunk: int = 100,
            on_sent: Callable[[list[Item], float], None] = lambda items, at: None) -> int:
    """Send the items in chunks, each acknowledged before the next; `on_sent(chunk, time.time())` when one is sent.
    Returns how many were published."""
    sent = 0
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, chunk)):
        pairs = [(item, m) for item in batch if (m := message(item)) is not None]
        at = time.time()
        producer.send(topic, [m for _, m in pairs])
        on_sent([item for item, _ in pairs], at)
        sent += len(pairs)
    return sent
