"""At most N fetches in flight to one host, across every thread that shares the slots: no shop is flooded."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from snapmode.pipeline.errors import ImageRejected


class HostSlots:
    """A bounded semaphore per host, alive while someone holds or waits for it."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: weakref.WeakValueDictionary[str, threading.BoundedSemaphore] = weakref.WeakValueDictionary()

    @contextmanager
    def slot(self, host: str, timeout: float | None = None) -> Iterator[None]:
        """Holds one of `host`'s slots; waiting longer than `timeout` seconds is a retryable `unreachable`."""
        with self._lock:
            semaphore = self._slots.get(host)
            if semaphore is None:
                semaphore = self._slots[host] = threading.BoundedSemaphore(self.per_host)
        if not semaphore.acquire(timeout=None if timeout is None else max(timeout, 0)):
            raise ImageRejected("unreachable", f"no free fetch slot for {host} before the deadline", retryable=True)
        try:
            yield
        finally:
            semaphore.release()
