"""`snapmode reindex` as a user types it: the commands refuse an index of another model in one line, the reindex
prints its summary (or JSON), and afterwards the same commands work."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from snapmode.cli.main import run
from snapmode.config import get_settings
from tests.conftest import MeanColourEmbedder
from tests.pipeline.test_reindex import ChannelEmbedder, catalog, ingest  # noqa: F401 - the fixture


def snapmode(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the `snapmode` command as installed (`run`: a store's refusal is one line)."""
    monkeypatch.setattr(sys, "argv", ["snapmode", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def indexed(tmp_path: Path, cli_env: Callable[..., None], catalog: Path,  # noqa: F811
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir indexed by the old model; the commands' configured embedder is the new one."""
    cli_env(DATA_DIR=tmp_path / "data", EMBED_BATCH_SIZE=4)
    ingest(get_settings(), catalog, MeanColourEmbedder())
    monkeypatch.setattr("snapmode.platform.build_embedder", lambda settings: ChannelEmbedder())
    monkeypatch.setattr("snapmode.platform.embedder_identity", lambda settings: ("channels:v2", 6))
    return catalog / "images" / "SM00002" / "0.jpg"


def test_commands_refuse_the_old_index_then_work_after_reindex(indexed: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for command in (["search", str(indexed)], ["serve"]):
        code, _, err = snapmode(capsys, monkeypatch, *command)
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 1 and len(errors) == 1, err
        assert errors[0].startswith("error: the vector index products (collection products__0) was made by "
                                    "mean-colour (8-d), the embedder is channels:v2 (6-d): run `snapmode reindex`"), err

    code, _, err = snapmode(capsys, monkeypatch, "reindex")

    assert code == 0, err
    assert "Reindex summary" in err and "products__1" in err
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in err.splitlines()
            if line.count("│") == 3}
    assert (rows["images indexed"], rows["previous"], rows["dropped"]) == ("10", "products__0", "True")
    code, out, err = snapmode(capsys, monkeypatch, "search", str(indexed), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["product_id"] == "SM00002"
    code, out, err = snapmode(capsys, monkeypatch, "reindex", "--json")
    assert code == 0 and json.loads(out)["up_to_date"] is True, err
