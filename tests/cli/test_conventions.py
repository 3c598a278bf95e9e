"""One CLI convention for every command: `-h`, `--version`, help that says what it does in one line, defaults shown,
`--json` where a command reports something, `--progress/--no-progress` where it shows progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from snapmode.cli.main import app

# Commands that report nothing a script would read: they serve, or write one file and say where.
NO_JSON = {"serve", "demo", "cluster solr-security", "cluster fetch"}
# Commands whose work is long enough to show progress.
PROGRESS = {"ingest", "crawl", "demo", "reindex", "train", "eval", "export", "catalog generate", "dataset build"}


def leaves(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            yield from leaves(sub, f"{path} {name}".strip())
    else:
        yield path, command


COMMANDS = dict(leaves(typer.main.get_command(app)))


def test_version() -> None:
    from importlib.metadata import version

    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.stdout.strip() == f"snapmode {version('snapmode')}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_takes_dash_h(name: str) -> None:
    done = CliRunner().invoke(app, [*name.split(), "-h"])
    assert done.exit_code == 0 and "Usage: snapmode " + name in " ".join(done.output.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_shows_its_options_and_defaults(name: str) -> None:
    command = COMMANDS[name]
    assert command.help and command.help.strip()[0].isupper()
    for param in command.params:
        assert "[default:" not in (getattr(param, "help", None) or ""), f"{name} {param.name}: use show_default"
        if getattr(param, "param_type_name", "") == "option" and param.name != "help":
            assert param.help, f"{name} --{param.name} has no help"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_lists_in_one_sentence(name: str) -> None:
    """A command's line in its group's list is its `short_help`, or its docstring's first paragraph when that is one
    line: a hard-wrapped paragraph would be cut mid-sentence there."""
    command = COMMANDS[name]
    assert command.short_help or "\n" not in command.help.strip().split("\n\n")[0], f"{name} needs a short_help"


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - NO_JSON))
def test_each_reporting_command_has_json(name: str) -> None:
    assert "--json" in {opt for p in COMMANDS[name].params for opt in getattr(p, "opts", ())}


@pytest.mark.parametrize("name", sorted(PROGRESS))
def test_each_long_command_can_hide_its_progress(name: str) -> None:
    assert "--no-progress" in {opt for p in COMMANDS[name].params for opt in getattr(p, "secondary_opts", ())}


def test_the_top_level_groups_commands_in_panels() -> None:
    done = CliRunner().invoke(app, ["-h"], env={"COLUMNS": "120"})
    for panel in ("Search and serve", "Ingest and crawl", "Cluster and topology", "Model and data", "Benchmarks"):
        assert panel in done.output
    panels = done.output.split("Search and serve", 1)[1]
    assert "..." not in panels  # one-line summaries, not cut-off docstrings


@pytest.mark.parametrize("args", [["catalog", "generate", "--products", "2", "--views", "2", "--no-site",
                                   "--no-progress", "--json"],
                                  ["dataset", "list", "--json"],
                                  ["delete", "shop:a", "--yes", "--json"]], ids=lambda a: " ".join(a[:2]))
def test_json_output_is_one_document_on_stdout(args: list[str], tmp_path, cli_env) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys
    from pathlib import Path

    cli_env(DATA_DIR=tmp_path / "data")
    extra = ["--out", str(tmp_path / "catalog")] if args[:2] == ["catalog", "generate"] else []
    snapmode = Path(sys.executable).with_name("snapmode")
    done = subprocess.run([str(snapmode), *args, *extra], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)
