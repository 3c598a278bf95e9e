"""One milvus-lite engine per data dir, shared with other processes through its gRPC socket.

milvus-lite runs its engine (Milvus's own, in local mode) as a child process of the process that opens the data dir,
which it locks for that process; the engine serves gRPC on a Unix socket. The process that opens it writes a holder
file beside it (PID, command, socket URI). A serving process (`snapmode serve`, `demo`)
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
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from snapmode.interfaces import StoreUnavailable
from snapmode.waiting import WaitTimeout, wait_until

# milvus-lite 2.5.1 reads its version through pkg_resources, which warns on stderr at import (not a log line)
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning, module="milvus_lite")

HOLDER_SUFFIX = ".holder.json"
SOCKET_SCHEME = "unix:"  # an engine's gRPC socket, as milvus-lite names it
# gRPC servers refuse keepalive pings more often than every 5 min by default (GOAWAY "too_many_pings"): pymilvus's
# 10 s keepalive pings are turned off.
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

    db_path.parent.mkdir(parents=True, exist_ok=True)  # the engine's lock file goes beside its data
    root = logging.getLogger()  # where milvus-lite logs its lock failure, at ERROR
    root.addFilter(_quiet_lite)
    try:
        return server_manager_instance.start_and_get_uri(str(db_path))
    finally:
        root.removeFilter(_quiet_lite)


def _quiet_lite(record: logging.LogRecord) -> bool:
    """Drop milvus-lite's own records: a data dir locked by another process is an answer here, not an error."""
    return "milvus_lite" not in record.pathname


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
    try:
        with _connect(holder.uri):
            return True
    except OSError:
        return False


def is_lite_uri(uri: str) -> bool:
    """Whether `uri` reaches milvus-lite: a file path, or the socket of an engine."""
    return "://" not in uri


def is_lite_file(uri: str) -> bool:
    """Whether `uri` is a milvus-lite file path (which pymilvus opens an engine for), not an engine's socket."""
    return is_lite_uri(uri) and not uri.startswith(SOCKET_SCHEME)


def _connect(uri: str) -> socket.socket:
    """A connection to the engine at `uri` (`unix:PATH` or a TCP URL)."""
    if uri.startswith(SOCKET_SCHEME):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1.0)
        try:
            sock.connect(uri.removeprefix(SOCKET_SCHEME))
        except OSError:
            sock.close()
            raise
        return sock
    parsed = urlparse(uri)
    return socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=1.0)


def _this_command() -> str:
    name = Path(sys.argv[0]).name if sys.argv else "python"
    return shlex.join([name, *sys.argv[1:]])[:200]
