"""A rich progress display for the package readers of `snapmode.datasets.realsets`, which report through a `Track`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from snapmode.datasets.realsets.progress import Track
from snapmode.progress import progress_bars


@contextmanager
def tracking(console: Console, *, show: bool = True) -> Iterator[Track]:
    """A `Track` that shows one bar per step, named by its description, while the block runs."""
    with progress_bars(show=show, console=console) as progress:
        yield lambda items, description: progress.track(items, total=len(items), description=description)
