"""The topology graph and its config come from settings; the jar and streamparse project are built without Leiningen."""

from __future__ import annotations

import json
import runpy
import zipfile
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.topologies.component import SETTINGS_KEY, settings_from_conf
from snapmode.topologies.deploy import SPEC_MODULE, Virtualenv, build_project
from snapmode.topologies.graph import build_topology


def test_parallelism_and_batching_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPMODE_FETCH_PARALLELISM", "7")
    monkeypatch.setenv("SNAPMODE_EMBED_PARALLELISM", "3")
    monkeypatch.setenv("SNAPMODE_WRITER_PARALLELISM", "2")
    monkeypatch.setenv("SNAPMODE_BATCH_WAIT_S", "4")
    topology = build_topology(Settings(_env_file=None))  # type: ignore[call-arg]
    bolts = topology.thrift_bolts
    assert {name: b.common.parallelism_hint for name, b in bolts.items()} == {
        "fetch": 7, "embed": 3, "vectors": 2, "metadata": 2, "deletions": 2, "reschedule": 1, "dead_letters": 1}
    assert json.loads(bolts["embed"].common.json_conf) == {"topology.tick.tuple.freq.secs": 4}
    assert json.loads(bolts["fetch"].common.json_conf) == {}  # no ticks where nothing batches
    # both writers hang off the embed bolt: a record's tuple tree completes only when both stores confirmed
    assert {s.componentId for s in bolts["vectors"].common.inputs} == {"embed"}
    assert {s.componentId for s in bolts["metadata"].common.inputs} == {"embed"}
    assert {(s.componentId, s.streamId) for s in bolts["dead_letters"].common.inputs} == {
        ("fetch", "rejected"), ("records", "exhausted"), ("retries", "exhausted"), ("vectors", "refused"),
        ("metadata", "refused"), ("deletions", "refused")}
    assert {(s.componentId, s.streamId) for s in bolts["deletions"].common.inputs} == {("fetch", "deleted")}
    # records come from the records topic and, when due, from the retry topic; those to try again go back to it
    assert {(s.componentId, s.streamId) for s in bolts["fetch"].common.inputs} == {("records", "default"),
                                                                                   ("retries", "default")}
    assert {(s.componentId, s.streamId) for s in bolts["reschedule"].common.inputs} == {("fetch", "retry")}
    # one product's versions reach one writer task, in order
    for name in ("vectors", "metadata"):
        assert [g.fields for g in bolts[name].common.inputs.values()] == [["product_key"]]


def test_fetch_to_embed_stays_in_the_worker_when_images_go_through_files() -> None:
    def grouping(**update: object) -> object:
        settings = Settings(_env_file=None).model_copy(update=update)  # type: ignore[call-arg]
        return next(iter(build_topology(settings).thrift_bolts["embed"].common.inputs.values()))

    assert grouping().local_or_shuffle is not None  # one worker: handoff files, read by an embed task beside
    assert grouping(topology_workers=2).shuffle is not None  # workers may be on several hosts: inline
    assert grouping(image_handoff="inline").shuffle is not None


def test_components_read_the_submitted_settings_from_the_topology_config(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, milvus_uri="http://milvus:19530", embed_batch_size=7,  # type: ignore[call-arg]
                        _env_file=None)
    conf = json.loads(json.dumps(build_topology(settings).config))  # as Storm hands it over
    assert conf["topology.subprocess.timeout.secs"] >= 120  # room for loading a model
    assert settings_from_conf(conf) == settings
    assert SETTINGS_KEY in conf


def test_builds_the_jar_and_the_streamparse_project(tmp_path: Path) -> None:
    settings = Settings(nimbus_host="10.0.0.5", nimbus_port=7627, fetch_parallelism=5,  # type: ignore[call-arg]
                        _env_file=None)
    venv = Virtualenv.current()
    jar = build_project(settings, tmp_path / "build", venv)
    with zipfile.ZipFile(jar) as archive:
        names = set(archive.namelist())
    assert {"resources/snapmode/topologies/spout.py", "resources/snapmode/topologies/embed.py"} <= names
    env = json.loads((tmp_path / "build" / "config.json").read_text())["envs"]["snapmode"]
    assert env["nimbus"] == "10.0.0.5:7627" and env["use_ssh_for_nimbus"] is False
    assert Path(env["virtualenv_root"], env["virtualenv_name"], "bin", "streamparse_run").exists()
    spec = runpy.run_path(str(tmp_path / "build" / "topologies" / f"{SPEC_MODULE}.py"))
    assert spec["IngestTopology"].thrift_bolts["fetch"].common.parallelism_hint == 5


def test_builds_from_the_default_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`snapmode topology submit` with default settings: the data dir and the build dir are relative paths."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not settings.data_dir.is_absolute()
    jar = build_project(settings, settings.data_dir / "topology", Virtualenv.current())

    assert jar.is_absolute() and jar.is_file()
    with zipfile.ZipFile(jar) as archive:
        assert "resources/snapmode/topologies/spout.py" in archive.namelist()
    spec = runpy.run_path(str(tmp_path / ".snapmode" / "topology" / "topologies" / f"{SPEC_MODULE}.py"))
    submitted = settings_from_conf(json.loads(json.dumps(spec["IngestTopology"].config)))
    assert submitted.data_dir == tmp_path / ".snapmode"  # workers run elsewhere: paths go as absolute ones
