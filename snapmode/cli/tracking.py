"""A rich progress display for the package readers of `snapmode.datasets.realsets`, which report through a `Track`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snapmode.datasets.realsets.progress import Track


@contextmanager
def tracking(console: Console, *, show: bool = True) -> Iterator[Track]:
    """A `Track` that shows one bar per step, named by its description, while the block runs."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not show) as progress:
        yield lambda items, description: progress.track(items, total=len(items), description=description)
