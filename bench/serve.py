"""The processes `snapmode bench query` measures against: a `snapmode serve` on a free port, a native Milvus server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from snapmode.config import Settings
from snapmode.infra.ports import free_port_range
from snapmode.waiting import WaitTimeout, wait_until

START_TIMEOUT_S = 120.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, MiB (the process alone without psutil)."""
    return round(_tree_sum(pid, lambda member: member.memory_info().rss, _rss_bytes_alone) / 2**20, 1)


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds (user and system) a process and its live descendants have used (the process alone without
    psutil); 0 for no process."""
    if pid is None:
        return 0.0
    return _tree_sum(pid, lambda member: sum(member.cpu_times()[:2]), _cpu_s_alone)


SETTLED_CORE_SHARE = 0.1  # processes that use less of one core than this are taken as settled


def wait_settled(pids: Sequence[int | None], *, window_s: float = 2.0, timeout_s: float = 900.0) -> float:
    """Wait until the processes (with their descendants) together use less than a tenth of a core over `window_s`:
    a Milvus engine may still merge segments or build their indexes after it opens them, which its index state does
    not always show. The seconds waited (`timeout_s` at most)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = sum(tree_cpu_s(pid) for pid in pids)
        time.sleep(window_s)
        if sum(tree_cpu_s(pid) for pid in pids) - before < SETTLED_CORE_SHARE * window_s:
            break
    return round(time.monotonic() - started, 1)


def own_cpu_s() -> float:
    """CPU seconds (user and system) this process has used, every thread counted."""
    times = os.times()
    return times.user + times.system


def _tree_sum(pid: int, measure: Callable[[Any], float], alone: Callable[[int], float]) -> float:
    """`measure` summed over a process and its live descendants (psutil), or `alone(pid)` without psutil."""
    try:
        import psutil
    except ImportError:
        return alone(pid)
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for member in members:
        try:
            total += measure(member)
        except psutil.Error:
            pass
    return total


def _rss_bytes_alone(pid: int) -> float:
    try:
        line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) * 1024


def _cpu_s_alone(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


@dataclass(frozen=True)
class ServedApi:
    base: str
    pid: int

    def rss_mb(self) -> float:
        return tree_rss_mb(self.pid)


def serve_env(settings: Settings, *, searches: int, extra: dict[str, str]) -> dict[str, str]:
    """This environment without SNAPMODE_* variables, plus the settings the served API needs from `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPMODE_")}
    env |= {"SNAPMODE_ENV_FILE": str(settings.data_dir / "none.env"), "SNAPMODE_DATA_DIR": str(settings.data_dir),
            "SNAPMODE_COLLECTION": settings.collection, "SNAPMODE_EMBEDDER": settings.embedder,
            "SNAPMODE_DEVICE": settings.device, "SNAPMODE_EMBED_BATCH_SIZE": str(settings.embed_batch_size),
            "SNAPMODE_CACHE_TTL_S": "0", "SNAPMODE_MAX_CONCURRENT_SEARCHES": str(searches),
            "SNAPMODE_LOG_LEVEL": "WARNING", "SNAPMODE_TORCH_THREADS": str(settings.torch_threads),
            "SNAPMODE_QUERY_BATCH_WAIT_MS": str(settings.query_batch_wait_ms),
            "SNAPMODE_QUERY_BATCH_MAX": str(settings.query_batch_max),
            "SNAPMODE_QUERY_BATCH_WORKERS": str(settings.query_batch_workers)}
    if settings.model_checkpoint is not None:
        env["SNAPMODE_MODEL_CHECKPOINT"] = str(settings.model_checkpoint.resolve())  # the server runs elsewhere
    if settings.milvus_uri:
        env["SNAPMODE_MILVUS_URI"] = settings.milvus_uri
    return env | extra


@contextmanager
def serve_process(settings: Settings, port: int, log_path: Path, *, env: dict[str, str] | None = None,
                  searches: int = 8) -> Iterator[ServedApi]:
    """`snapmode serve` for `settings` on `port` until the block ends; waits for /healthz."""
    command = [str(Path(sys.executable).parent / "snapmode"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=settings.data_dir.parent, stdout=log, stderr=subprocess.STDOUT,
                                  env=serve_env(settings, searches=searches, extra=env or {}))
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"snapmode serve exited with {server.returncode}: {log_path.read_text()[-2000:]}")
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            try:
                wait_until(answers, timeout_s=START_TIMEOUT_S, interval_s=0.3, what="snapmode serve")
            except WaitTimeout:
                raise RuntimeError(f"snapmode serve did not answer /healthz in {START_TIMEOUT_S:.0f} s") from None
            yield ServedApi(base, server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def start_milvus_server(settings: Settings, run_dir: Path) -> Iterator[tuple[str, Callable[[], int | None]]]:
    """A native Milvus standalone on free ports in `run_dir` (`snapmode cluster up --only milvus`), stopped at the
    end: its URI and its PID (None once it is gone)."""
    from snapmode.infra.cluster import Cluster, context_from_settings
    from snapmode.infra.services.milvus_server import milvus_ports

    port = free_port_range(len(milvus_ports(0)) + 1)
    local = settings.model_copy(update={"cluster_dir": run_dir, "milvus_port": port})
    cluster = Cluster(context_from_settings(local), start_timeout_s=settings.cluster_start_timeout_s)
    try:
        cluster.up(["milvus"])
        service = cluster.services["milvus"]
        yield service.url, lambda: cluster.ctx.table.pid("milvus")
    finally:
        cluster.down(["milvus"])
