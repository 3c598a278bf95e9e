"""A component's stderr never blocks it: a process that logs megabytes while nobody reads its stderr pipe (as Storm
does not, until it next writes to the component) goes on, and its lines arrive in order once the pipe is read."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading

from snapmode.topologies.stderr import QueuedStderr
from snapmode.waiting import wait_until

LOGGING_CHILD = """
import logging, sys
{setup}
from snapmode.logs import configure_logging, get_logger
configure_logging("INFO", json=True)
log = get_logger("child")
for i in range(4000):  # about 1.5 MB of log lines, 25 times the pipe's 64 KB
    log.warning("store.unavailable", attempt=i, error="x" * 300)
    logging.getLogger("pymilvus").warning("recovery failed", exc_info=ValueError("unreachable"))
print("done", flush=True)
"""


def stdout_line(setup: str, wait_s: float) -> tuple[str, subprocess.Popen[bytes]]:
    """Run the child with its stderr a pipe nobody reads; its first stdout line within `wait_s` ('' if none)."""
    child = subprocess.Popen([sys.executable, "-c", LOGGING_CHILD.format(setup=setup)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=wait_s)
    return (child.stdout.readline().decode() if ready else ""), child


def test_a_component_logging_into_an_unread_pipe_goes_on_and_every_line_arrives_in_order() -> None:
    line, child = stdout_line("from snapmode.topologies.stderr import unblock_stderr; unblock_stderr()", wait_s=120)
    assert line == "done\n"
    _, err = child.communicate(timeout=60)  # now the pipe is read: the queue drains, the child exits
    assert child.returncode == 0
    attempts = [int(part.split(",")[0]) for part in err.decode().split('"attempt": ')[1:]]
    assert attempts == list(range(4000))  # nothing lost: the queue held it all
    assert err.decode().count('"logger": "pymilvus"') == 4000  # the library's own lines come the same way


def test_without_it_the_same_component_blocks_on_the_full_pipe() -> None:
    line, child = stdout_line("", wait_s=5)
    try:
        assert line == ""  # stuck writing to stderr, as a bolt under Storm was
    finally:
        child.kill()
        child.communicate()


def test_writes_beyond_the_queue_are_dropped_and_counted_in_a_line_once_the_pipe_moves() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, True)
    target = os.fdopen(write_fd, "w")
    stream = QueuedStderr(target, limit=10)
    chunk = "y" * 65_536 + "\n"  # the first fills the pipe: the thread blocks, the queue fills behind it
    for _ in range(40):
        assert stream.write(chunk) == len(chunk)  # returns at once, full queue or not
    assert stream.dropped > 0
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_read_all(read_fd)))
    reader.start()
    wait_until(lambda: not stream._queue.full(), timeout_s=30, interval_s=0.01)  # the pipe moves: room again
    stream.write("last\n")
    stream.drain(timeout_s=30)
    target.close()
    reader.join(30)
    text = received[0].decode()
    assert '"event": "stderr.dropped"' in text and text.endswith("last\n")
    assert text.count(chunk) + int(text.split('"writes": ')[1].split(",")[0]) == 40


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()
