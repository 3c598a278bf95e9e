"""`snapmode deadletters list|replay [--reason R]`: what the pipeline dead-lettered, and sending it through again."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.config import get_settings

app = typer.Typer(help="The dead-letter topic: list the letters by reason, replay their records.", no_args_is_help=True)
console = Console(stderr=True)

Reasons = Annotated[list[str] | None, typer.Option("--reason", "-r", help="Only letters of this reason (repeatable)")]


@app.command("list")
def list_letters(reason: Reasons = None,
                 as_json: Annotated[bool, typer.Option("--json", help="Print every letter as JSON on stdout")] = False,
                 limit: Annotated[int, typer.Option(help="Rows of the table, newest last (0: all)")] = 50) -> None:
    """The letters of the dead-letter topic with their reasons, and how many of each reason."""
    from snapmode.deadletters import by_reason, read_letters

    settings = get_settings()
    letters = read_letters(settings, reason or ())
    if as_json:
        print(json.dumps({"topic": settings.dead_letter_topic, "by_reason": by_reason(letters),
                          "letters": [letter.as_dict() for letter in letters]}, indent=2, ensure_ascii=False))
        return
    shown = sorted(letters, key=lambda letter: letter.rejection.at)[-limit if limit else None:]
    table = Table(title=f"{settings.dead_letter_topic}: {len(letters)} letters"
                        + (f", the last {len(shown)}" if len(shown) < len(letters) else ""))
    for column in ("at", "reason", "product", "image / url", "detail", "replayable"):
        table.add_column(column, overflow="fold")
    for letter in shown:
        r = letter.rejection
        table.add_row(r.at[:19], r.reason, r.product_key or "", r.url or r.image_id or "", r.detail[:120],
                      "yes" if r.payload else "no")
    console.print(table)
    for name, count in by_reason(letters).items():
        print(f"{name}\t{count}")


@app.command("replay")
def replay_letters(reason: Reasons = None,
                   as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout")] = False,
                   ) -> None:
    """Publish the records of the letters (of `--reason`, or all) to the records topic again, once per record."""
    from snapmode.deadletters import read_letters, replay
    from snapmode.queue import KafkaProducerQueue

    settings = get_settings()
    letters = read_letters(settings, reason or ())
    producer = KafkaProducerQueue(settings)
    try:
        report = replay(letters, producer, settings.records_topic)
    finally:
        producer.close()
    if as_json:
        print(json.dumps({"topic": settings.records_topic, **report.as_dict()}, indent=2))
        return
    console.print(f"replayed {report.published} records of {report.letters} letters to {settings.records_topic}"
                  + (f"; {report.without_payload} letters carry no record to replay" if report.without_payload else ""))
