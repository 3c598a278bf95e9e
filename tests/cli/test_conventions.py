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
