"""Start, find and stop the cluster's processes by the PID files they leave in the run directory."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from snapmode.infra.errors import ClusterError


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of a service: its command line and the ports it must own."""

    name: str
    argv: Sequence[str]
    ports: Sequence[int]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file without Java stack frames ("" when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not _STACK_FRAME.match(line)]  # causes stay, frames go
    return "\n".join(kept[-lines:])


class ProcessTable:
    """The processes started from one run directory: `run/<name>.pid` and `logs/<name>.log`."""

    def __init__(self, root: Path) -> None:
        self.run_dir = root / "run"
        self.log_dir = root / "logs"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def start(self, spec: ProcessSpec) -> int:
        """Launch `spec` in its own process group, output appended to its log; returns the PID."""
        for port in spec.ports:
            if not port_is_free(port):
                raise ClusterError(f"{spec.name}: port {port} on 127.0.0.1 is in use by another process; "
                                   f"stop it or choose another port (SNAPMODE_* port settings)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log(spec.name).open("ab")
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(spec.argv)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(list(spec.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=spec.cwd, env={**os.environ, **spec.env}, start_new_session=True)
        except OSError as exc:
            raise ClusterError(f"{spec.name}: cannot run {spec.argv[0]}: {exc}") from exc
        finally:
            log.close()
        started = psutil.Process(proc.pid).create_time()
        self._pidfile(spec.name).write_text(json.dumps({"pid": proc.pid, "create_time": started}))
        return proc.pid

    def pid(self, name: str) -> int | None:
        """The PID of `name` if the process this table started is still alive (not a reused PID)."""
        process = self._process(name)
        return process.pid if process is not None else None

    def _process(self, name: str) -> psutil.Process | None:
        try:
            info = json.loads(self._pidfile(name).read_text())
            process = psutil.Process(int(info["pid"]))
            if abs(process.create_time() - float(info["create_time"])) > 1 or \
                    process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process
        except (OSError, ValueError, KeyError, psutil.Error):
            return None

    def rss_mb(self, name: str) -> float | None:
        """Resident memory of the process and its descendants (Storm workers, Milvus' server) in MiB."""
        process = self._process(name)
        if process is None:
            return None
        total = 0
        for member in [process, *process.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
        return round(total / 2**20, 1)

    def stop(self, name: str, timeout_s: float = 20.0) -> bool:
        """SIGTERM the process group this table started, SIGKILL what remains after `timeout_s`; True if it ran."""
        process = self._process(name)
        self._pidfile(name).unlink(missing_ok=True)
        if process is None:
            return False
        group = [process, *process.children(recursive=True)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for member in group:
                try:
                    member.send_signal(sig)
                except psutil.Error:
                    pass
            _, group = psutil.wait_procs(group, timeout=timeout_s if sig == signal.SIGTERM else 5)
            if not group:
                break
        return True
