"""The one progress display of every long job (rich, on stderr): a bar per task, its count, time and a note."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text


class NoteColumn(ProgressColumn):
    """The task's `note` field (a loss, a score), when it has one."""

    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("note", "")))


def progress_bars(*, show: bool = True, console: Console | None = None, transient: bool = False) -> Progress:
    """A `Progress` to use as a context manager: `add_task(description, total=...)`, then
    `update(task, advance=n, note=...)`. `show=False` displays nothing (`--no-progress`)."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               NoteColumn())
    return Progress(*columns, console=console or Console(stderr=True), disable=not show, transient=transient)
