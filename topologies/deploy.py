"""Build the topology jar without Leiningen and submit it to Nimbus with `sparse submit -j`; kill it; find it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from snapmode.config import Settings

TOPOLOGIES_DIR = Path(__file__).resolve().parent
REPLACE_WAIT_S = 3  # seconds a replaced topology gets to finish in-flight tuples
SPEC_MODULE = "ingest"  # the topology definition file that `sparse submit -n` loads from the build dir
_SPEC = '''"""The ingestion topology, with the settings it was submitted with."""
import json

from snapmode.config import Settings
from snapmode.topologies.graph import build_topology

IngestTopology = build_topology(Settings.from_shared(json.loads({settings!r})))
'''


class DeployError(RuntimeError):
    """The topology could not be built, submitted or killed; the message says why."""


@dataclass(frozen=True)
class Virtualenv:
    """Where the workers find `streamparse_run`: `<root>/<name>/bin/streamparse_run`."""

    root: Path
    name: str

    @classmethod
    def current(cls) -> Virtualenv:
        prefix = Path(sys.prefix)
        return cls(root=prefix.parent, name=prefix.name)

    @property
    def streamparse_run(self) -> Path:
        return self.root / self.name / "bin" / "streamparse_run"


def build_project(settings: Settings, build_dir: Path, venv: Virtualenv | None = None) -> Path:
    """Lay out a streamparse project in `build_dir` (config.json, the topology definition, resources/ with the
    component code) and pack `topology.jar`; returns the jar."""
    venv = venv or Virtualenv.current()
    build_dir, settings = build_dir.resolve(), with_absolute_paths(settings)
    if not venv.streamparse_run.exists():
        raise DeployError(f"{venv.streamparse_run} not found: install streamparse in that virtualenv")
    if build_dir.exists():
        shutil.rmtree(build_dir)
    resources = build_dir / "resources" / "snapmode" / "topologies"
    shutil.copytree(TOPOLOGIES_DIR, resources, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    specs = build_dir / "topologies"
    specs.mkdir()
    shared = json.dumps(settings.shareable())
    (specs / f"{SPEC_MODULE}.py").write_text(_SPEC.format(settings=shared))
    (build_dir / "config.json").write_text(json.dumps(sparse_config(settings, venv), indent=2))
    jar = build_dir / "topology.jar"
    pack_jar(jar, build_dir, "resources")
    return jar


def pack_jar(jar: Path, root: Path, folder: str) -> None:
    """A jar of `root/folder` (a zip with a manifest, as `jar cf` writes it): no JDK needed where it is built."""
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: snapmode\r\n\r\n")
        archive.write(root / folder, folder)
        for path in sorted((root / folder).rglob("*")):
            archive.write(path, path.relative_to(root).as_posix())


def with_absolute_paths(settings: Settings) -> Settings:
    """`settings` with their paths (alone or in lists) resolved here: Storm workers run from their own directory."""
    def absolute(value: object) -> object:
        if isinstance(value, Path):
            return value.resolve()
        if isinstance(value, list) and all(isinstance(item, Path) for item in value):
            return [item.resolve() for item in value]
        return value

    return settings.model_copy(update={name: absolute(value) for name, value in settings})


def sparse_config(settings: Settings, venv: Virtualenv) -> dict[str, object]:
    """streamparse's config.json: Nimbus over Thrift (no SSH), workers run the bolts in an existing virtualenv."""
    return {
        "serializer": "json",
        "topology_specs": "topologies/",
        "virtualenv_specs": "virtualenvs/",
        "envs": {"snapmode": {
            "nimbus": f"{settings.nimbus_host}:{settings.nimbus_port}",
            "use_ssh_for_nimbus": False,
            "workers": [settings.nimbus_host],
            "user": "",
            "use_virtualenv": True,
            "install_virtualenv": False,
            "virtualenv_root": str(venv.root),
            "virtualenv_name": venv.name,
        }},
    }


def submit(settings: Settings, build_dir: Path, *, name: str | None = None) -> str:
    """Build and submit the topology, replacing a running one of the same name; returns sparse's output."""
    from snapmode.topologies.nimbus import kill

    name = name or settings.topology_name
    jar = build_project(settings, build_dir)
    if kill(settings, name, wait_s=REPLACE_WAIT_S, until_gone_s=120):
        # The supervisor must have released the old worker's files before the same name comes back: a Storm 2
        # supervisor that localizes a topology while the previous one with its name is being cleaned up halts.
        time.sleep(REPLACE_WAIT_S + 10)
    sparse = Path(sys.prefix) / "bin" / "sparse"
    command = [str(sparse), "submit", "-e", "snapmode", "-n", SPEC_MODULE, "-N", name, "-j", str(jar)]
    return run(command, cwd=build_dir, what="sparse submit")


def run(command: list[str], *, cwd: Path, what: str) -> str:
    env = {**os.environ, "LEIN_ROOT": "1", "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeployError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-3000:]
        raise DeployError(f"{what} exited with {done.returncode}:\n{tail}")
    return done.stdout
