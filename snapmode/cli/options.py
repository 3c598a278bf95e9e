"""The options every command spells the same way: `--json`, `--progress/--no-progress`, and lists given as a
repeated option or comma-separated (`--only kafka --only solr` or `--only kafka,solr`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (messages go to stderr)")]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars")]


def items(values: list[str] | None) -> list[str]:
    """The values of a repeatable option, each of which may also be comma-separated; empty for none."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def emit(document: object) -> None:
    """The command's one JSON document, on stdout."""
    typer.echo(json.dumps(document, indent=2, default=str))
