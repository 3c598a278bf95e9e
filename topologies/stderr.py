"""A Python component's stderr that never blocks it.

Storm reads a multi-lang component's stderr only when it writes to the component's stdin (a tuple, a heartbeat). A
bolt that logs while it waits for a store (one pymilvus traceback is 7 KB) fills the 64 KB pipe while Storm, its
queue of tuples to the bolt full, waits for the bolt to read stdin: both wait until Storm's subprocess timeout kills
the worker. Here writes go to a bounded queue that a thread empties into the real stderr; what does not fit is
dropped and counted in a line written once the pipe moves again.
"""

from __future__ import annotations

import atexit
import io
import queue
import sys
import threading
from typing import TextIO

QUEUED_WRITES = 20_000  # about as many log lines: a few MB at most
EXIT_DRAIN_S = 2.0  # what a component's last lines (its crash, if any) get to reach Storm at exit


class QueuedStderr(io.TextIOBase):
    """A text stream whose `write` returns at once: a thread writes the text to `target` in order."""

    def __init__(self, target: TextIO, limit: int = QUEUED_WRITES) -> None:
        super().__init__()
        self.target = target
        self.dropped = 0  # writes that found the queue full, in all (only `write` changes it)
        self._reported = 0  # of them, those the thread has written a line about (only the thread changes it)
        self._queue: queue.Queue[str | None] = queue.Queue(limit)
        self._thread = threading.Thread(target=self._write_out, name="stderr-writer", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            self.dropped += 1
        return len(text)

    def flush(self) -> None:  # the thread flushes after each write
        pass

    def fileno(self) -> int:
        return self.target.fileno()

    def drain(self, timeout_s: float) -> None:
        """Let the thread write what is queued, waiting at most `timeout_s` (a pipe nobody reads stays full)."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _write_out(self) -> None:
        while (text := self._queue.get()) is not None:
            if (dropped := self.dropped - self._reported) > 0:
                self._reported += dropped
                self.target.write(f'{{"event": "stderr.dropped", "writes": {dropped}, "level": "warning"}}\n')
            self.target.write(text)
            self.target.flush()


def unblock_stderr() -> QueuedStderr:
    """Make `sys.stderr` a `QueuedStderr` over the process's stderr (once); return it."""
    if isinstance(sys.stderr, QueuedStderr):
        return sys.stderr
    stream = QueuedStderr(sys.stderr)
    sys.stderr = stream  # type: ignore[assignment]
    atexit.register(stream.drain, EXIT_DRAIN_S)
    return stream
