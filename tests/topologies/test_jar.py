"""The topology jar is packed without a JDK, as `jar` would pack it, and carries no secrets of the submitter."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.topologies.component import settings_from_conf
from snapmode.topologies.deploy import Virtualenv, build_project
from snapmode.topologies.graph import topology_config


def test_builds_without_a_jdk_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    jar = build_project(Settings(_env_file=None), tmp_path / "build", Virtualenv.current())  # type: ignore[call-arg]
    with zipfile.ZipFile(jar) as archive:
        names = archive.namelist()
        assert archive.read("META-INF/MANIFEST.MF").startswith(b"Manifest-Version: 1.0")
    assert "resources/snapmode/topologies/spout.py" in names and not any("__pycache__" in n for n in names)


@pytest.mark.skipif(shutil.which("jar") is None, reason="no JDK `jar` tool here to read the jar back")
def test_the_jdk_reads_the_jar(tmp_path: Path) -> None:
    jar = build_project(Settings(_env_file=None), tmp_path / "build", Virtualenv.current())  # type: ignore[call-arg]
    listed = subprocess.run(["jar", "tf", str(jar)], capture_output=True, text=True, check=True).stdout.split()
    assert "resources/snapmode/topologies/graph.py" in listed


def test_secrets_and_device_stay_with_each_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submitter = Settings(solr_password="submitter-secret-1", device="cpu", _env_file=None)  # type: ignore[call-arg]
    conf = topology_config(submitter)
    build_project(submitter, tmp_path / "build", Virtualenv.current())
    assert "submitter-secret-1" not in str(conf) and not any(
        b"submitter-secret-1" in p.read_bytes() for p in (tmp_path / "build").rglob("*") if p.is_file())
    monkeypatch.setenv("SNAPMODE_SOLR_PASSWORD", "worker-secret-12")
    monkeypatch.setenv("SNAPMODE_DEVICE", "cuda:0")
    worker = settings_from_conf(conf)
    assert worker.solr_auth == ("snapmode", "worker-secret-12") and worker.device == "cuda:0"
