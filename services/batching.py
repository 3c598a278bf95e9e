"""Micro-batching of concurrent photo queries: the queries that arrive together answered by one call of
`SearchService.find_photos` (one forward pass, one vector search), in one worker thread, off the event loop.

A query is decoded in its caller's thread (`SearchService.decode`), then queued. The worker takes the first queued
query and waits for more while other queries are on their way (admitted, still decoding) or while fewer are queued
than the last batch held (its clients are likely to send again), for at most `wait_s` after the first one, and takes
at most `max_batch`. A query alone after a batch of one is never held back. While a worker embeds and searches one
batch, the next one gathers; with several workers (one per core, the model on one thread each) batches also run side
by side.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from anyio.to_thread import run_sync
from PIL import Image

from snapmode.pipeline.box import Box
from snapmode.logs import get_logger
from snapmode.search.service import Page, SearchResult, SearchService

log = get_logger(__name__)


@dataclass(eq=False)
class _Query:
    image: Image.Image
    page: Page
    future: Future[list[SearchResult]] = field(default_factory=Future)


class QueryBatcher:
    """Answers `submit` (a decoded photo and its page) from batches formed by `workers` threads; `on_batch(size)`
    observes each batch."""

    def __init__(self, search: SearchService, *, wait_s: float = 0.005, max_batch: int = 32, workers: int = 1,
                 on_batch: Callable[[int], None] = lambda size: None) -> None:
        self.search = search
        self.wait_s = wait_s
        self.max_batch = max_batch
        self.on_batch = on_batch
        self._cond = threading.Condition()
        self._queue: list[_Query] = []
        self._arriving = 0  # admitted queries not queued yet (decoding)
        self._last = 1  # the size of the last batch: as many clients are likely to send again
        self._closed = False
        self._workers = [threading.Thread(target=self._run, name=f"query-batcher-{i}", daemon=True)
                         for i in range(workers)]
        for worker in self._workers:
            worker.start()

    def admit(self) -> None:
        """A query is on its way: the worker may wait for it. Pair with `submit` or `withdraw`."""
        with self._cond:
            self._arriving += 1

    def withdraw(self) -> None:
        """An admitted query will not come (its photo was refused)."""
        with self._cond:
            self._arriving -= 1
            self._cond.notify_all()

    def submit(self, image: Image.Image, page: Page) -> Future[list[SearchResult]]:
        """Queue an admitted query; its future holds the results, or the error of its batch."""
        query = _Query(image, page)
        with self._cond:
            if self._closed:
                raise RuntimeError("the query batcher is closed")
            self._arriving -= 1
            self._queue.append(query)
            self._cond.notify_all()
        return query.future

    def search_image(self, data: bytes, page: Page, box: Box | None = None) -> list[SearchResult]:
        """Decode `data` (its region `box`) here (raises `ImageRejected`) and wait for the batch's answer: for callers
        in threads."""
        self.admit()
        try:
            image = self.search.decode(data, box)
        except BaseException:
            self.withdraw()
            raise
        return self.submit(image, page).result()

    async def asearch_image(self, data: bytes, page: Page, box: Box | None = None) -> list[SearchResult]:
        """As `search_image`, for a caller on an event loop: decoded in a worker thread, the batch awaited."""
        self.admit()
        try:
            image = await run_sync(self.search.decode, data, box)
        except BaseException:
            self.withdraw()
            raise
        return await asyncio.wrap_future(self.submit(image, page))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout=10)

    def _next_batch(self) -> list[_Query]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closed)
            deadline = time.monotonic() + self.wait_s
            expected = max(self._arriving + len(self._queue), self._last)
            while len(self._queue) < min(expected, self.max_batch) and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
                expected = max(self._arriving + len(self._queue), self._last)
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self._last = len(batch)
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return  # closed with nothing queued
            batch = [q for q in batch if q.future.set_running_or_notify_cancel()]  # callers gone: skipped
            if not batch:
                continue
            self.on_batch(len(batch))
            try:
                results = self.search.find_photos([q.image for q in batch], [q.page for q in batch])
            except Exception as exc:  # noqa: BLE001 - each caller gets its batch's error
                log.warning("query_batch.failed", size=len(batch), error=str(exc))
                for q in batch:
                    q.future.set_exception(exc)
                continue
            for q, found in zip(batch, results):
                q.future.set_result(found)
