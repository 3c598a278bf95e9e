"""One embedded data dir, several processes: a serving process shares its milvus-lite engine; a short-lived holder is
named in one line; a holder killed by a signal does not lock anyone out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from snapmode.interfaces import VectorItem
from snapmode.stores.lite import DataDirBusy, holder_path, open_engine, read_holder, release_engine
from snapmode.stores.milvus import MilvusVectorStore

DIM = 8
# A second process that opens the engine of argv[1], writes one vector, says so, and holds on until stdin closes.
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from snapmode.interfaces import VectorItem
    from snapmode.stores.lite import open_engine
    from snapmode.stores.milvus import MilvusVectorStore

    path, serving = Path(sys.argv[1]), sys.argv[2] == "serving"
    store = MilvusVectorStore(uri=open_engine(path, serving=serving), collection="c", dim=8)
    store.upsert([VectorItem(image_id="theirs", product_key="s:1", vector=[1.0] + [0.0] * 7)])
    print("ready", flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def other_process(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    started: list[subprocess.Popen[str]] = []

    def start(serving: bool) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "vectors.db"),
                                    "serving" if serving else "once"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        while (line := process.stdout.readline()) and line.strip() != "ready":  # skip its log lines
            pass
        assert line, "the holder process ended before it was ready"
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def store_at(uri: str) -> MilvusVectorStore:
    return MilvusVectorStore(uri=uri, collection="c", dim=DIM)


def test_commands_attach_to_a_serving_process(tmp_path: Path, other_process) -> None:  # type: ignore[no-untyped-def]
    server = other_process(serving=True)
    path = tmp_path / "vectors.db"
    holder = read_holder(path)
    assert holder is not None and holder.pid == server.pid and holder.serving

    store = store_at(open_engine(path, serving=False))
    try:
        store.upsert([VectorItem(image_id="mine", product_key="s:2", vector=np.eye(DIM)[1])])
        assert store.count() == 2  # the server's vector and ours, in one engine
        assert store.search(np.eye(DIM)[1][None], k=1)[0][0].image_id == "mine"
    finally:
        store.close()
        release_engine(path)
    assert read_holder(path) == holder  # attaching and leaving does not touch the server's holder file


def test_a_short_lived_holder_is_named_not_attached_to(tmp_path: Path, other_process) -> None:  # type: ignore[no-untyped-def]
    ingest = other_process(serving=False)
    with pytest.raises(DataDirBusy) as busy:
        open_engine(tmp_path / "vectors.db", serving=False)
    message = str(busy.value)
    assert f"PID {ingest.pid}" in message and str(tmp_path) in message and "wait for it to end" in message
    assert "\n" not in message


def test_a_killed_holder_leaves_a_file_that_locks_nobody_out(tmp_path: Path, other_process) -> None:  # type: ignore[no-untyped-def]
    server = other_process(serving=True)
    server.kill()
    server.wait()
    path = tmp_path / "vectors.db"
    assert json.loads(holder_path(path).read_text())["pid"] == server.pid  # left behind by SIGKILL
    assert read_holder(path) is None

    uri = open_engine(path, serving=False)
    try:
        store = store_at(uri)
        assert store.existing(["theirs"]) == {"theirs"}  # its data survived; the lock is ours now
        store.close()
        mine = read_holder(path)
        assert mine is not None and (mine.pid, mine.uri, mine.serving) == (os.getpid(), uri, False)
    finally:
        release_engine(path)
    assert not holder_path(path).exists()
