"""One milvus-lite engine per data dir, shared with other processes through its loopback gRPC endpoint.

milvus-lite locks its data dir for one process, and serves it in that process on a loopback gRPC port. The process
that opens it writes a holder file beside it (PID, command, URI). A serving process (`snapmode serve`, `demo`)
shares its engine: every other command attaches to that URI, so ingesting or searching while the page is up works,
and the server sees new products at once. A short-lived holder (an `ingest`) is never attached to, since it may end
mid-way: the others stop with one line naming it.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shlex
import socket
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from snapmode.interfaces import StoreUnavailable
from snapmode.waiting import WaitTimeout, wait_until

HOLDER_SUFFIX = ".holder.json"
# milvus-lite's gRPC server keeps gRPC's default minimum ping interval (5 min): pymilvus's 10 s keepalive pings made
# it answer GOAWAY "too_many_pings", printed by gRPC's C core on stderr.
CLIENT_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}
_opened: Counter[Path] = Counter()  # users of this process's own engines, by path
OPEN_RETRY_S = 3.0  # two processes that start together: the loser waits this long for the winner's holder file


class DataDirBusy(StoreUnavailable):
    """The data dir's vector store is held by another process that does not share it."""


@dataclass(frozen=True)
class Holder:
    pid: int
    uri: str
    command: str
    serving: bool


def holder_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + HOLDER_SUFFIX)


def read_holder(db_path: Path) -> Holder | None:
    """The live process holding `db_path`, or None (no holder file, or its process is gone)."""
    try:
        holder = Holder(**json.loads(holder_path(db_path).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return holder if _alive(holder) else None


def open_engine(db_path: Path, *, serving: bool) -> str:
    """The gRPC URI of `db_path`'s engine: a serving holder's, else one opened in this process."""

    def attempt() -> str | None:
        holder = read_holder(db_path)
        if holder is not None and holder.pid != os.getpid():
            if holder.serving:
                return holder.uri
            raise DataDirBusy(busy_message(db_path, holder, serving=serving))
        uri = _start_here(db_path)
        if uri is not None:
            _opened[db_path] += 1
            if _opened[db_path] == 1:  # the first user here: withdraw the file when this process ends
                atexit.register(_unpublish, holder_path(db_path), os.getpid())
            _publish(db_path, Holder(os.getpid(), uri, _this_command(), serving or _serving(db_path)))
        return uri

    try:
        return wait_until(attempt, timeout_s=OPEN_RETRY_S, interval_s=0.2)
    except WaitTimeout:
        raise StoreUnavailable(f"milvus-lite could not open {db_path}: locked by a process that left no holder "
                               f"file ({holder_path(db_path).name}); stop the other snapmode process and retry") \
            from None


def release_engine(db_path: Path) -> None:
    """One user of this process's engine of `db_path` is done; the last one closes it and withdraws the holder file."""
    from milvus_lite.server_manager import server_manager_instance

    if _opened[db_path] == 0:
        return  # attached to another process's engine
    _opened[db_path] -= 1
    if _opened[db_path] == 0:
        _unpublish(holder_path(db_path), os.getpid())
        server_manager_instance.release_server(str(db_path))


def _serving(db_path: Path) -> bool:
    """Whether this process already published `db_path` as served (a later non-serving user keeps it so)."""
    holder = read_holder(db_path)
    return holder is not None and holder.pid == os.getpid() and holder.serving


def busy_message(db_path: Path, holder: Holder, *, serving: bool) -> str:
    fix = ("wait for it to end, then serve again" if serving else
           "wait for it to end (a running `snapmode serve` would share the data dir with every command)")
    return f"the data dir {db_path.parent} is in use by PID {holder.pid} ({holder.command}): {fix}, " \
           f"or set another SNAPMODE_DATA_DIR"


def _start_here(db_path: Path) -> str | None:
    """Open the engine in this process (milvus-lite reuses one engine per path); None when another process has it."""
    from milvus_lite.server_manager import server_manager_instance

    lite_log = logging.getLogger("milvus_lite.server_manager")
    level, lite_log.level = lite_log.level, logging.CRITICAL  # its lock failure is a traceback at ERROR
    try:
        return server_manager_instance.start_and_get_uri(str(db_path))
    finally:
        lite_log.setLevel(level)


def _publish(db_path: Path, holder: Holder) -> None:
    """Write the holder file atomically (a process killed by a signal leaves it behind: readers check that its
    process is alive and its port answers)."""
    path = holder_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(holder)))
    tmp.replace(path)


def _unpublish(path: Path, pid: int) -> None:
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(holder: Holder) -> bool:
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    if holder.pid == os.getpid():
        return True
    parsed = urlparse(holder.uri)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=1.0):
            return True
    except OSError:
        return False


def _this_command() -> str:
    name = Path(sys.argv[0]).name if sys.argv else "python"
    return shlex.join([name, *sys.argv[1:]])[:200]
