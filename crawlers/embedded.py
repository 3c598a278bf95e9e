"""Feed crawled records straight into the in-process ingest runner, on a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Queue

from snapmode.pipeline.runner import IngestReport, IngestRunner
from snapmode.records import Versioned

_END = object()


class IngestFeed:
    """`put` hands a record to the runner; when embedding falls behind, `put` waits (the crawl slows down with it)."""

    def __init__(self, runner: IngestRunner, *, max_pending: int = 256) -> None:
        self._queue: Queue[object] = Queue(max_pending)
        self.report: IngestReport | None = None
        self._thread = threading.Thread(target=self._run, args=(runner,), name="ingest-feed", daemon=True)
        self._thread.start()

    def put(self, record: Versioned) -> None:
        if not self._thread.is_alive():
            raise RuntimeError("the ingest runner stopped")
        self._queue.put(record)

    def close(self) -> IngestReport | None:
        """Wait until every record put so far is indexed; the runner's report."""
        if self._thread.is_alive():
            self._queue.put(_END)
        self._thread.join()
        return self.report

    def _records(self) -> Iterator[Versioned]:
        while (item := self._queue.get()) is not _END:
            yield item  # type: ignore[misc]

    def _run(self, runner: IngestRunner) -> None:
        self.report = runner.run(self._records())
