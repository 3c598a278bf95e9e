"""`snapmode deadletters list|replay [--reason R]`: what the pipeline dead-lettered (the topic on a cluster, the
dead-letter file embedded), and sending it through again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.config import Settings, get_settings

if TYPE_CHECKING:
    from snapmode.queue.deadletters import Letter, ReplayReport

app = typer.Typer(help="The dead letters (the topic on a cluster, $SNAPMODE_DATA_DIR/dead-letter.jsonl embedded): list "
                       "them by reason, replay their records.", no_args_is_help=True)
console = Console(stderr=True)

Reasons = Annotated[list[str] | None, typer.Option("--reason", "-r", help="Only letters of this reason (repeatable)")]


@app.command("list")
def list_letters(reason: Reasons = None,
                 as_json: Annotated[bool, typer.Option("--json", help="Print every letter as JSON on stdout")] = False,
                 limit: Annotated[int, typer.Option(help="Rows of the table, newest last (0: all)")] = 50) -> None:
    """The dead letters with their reasons, and how many of each reason."""
    from snapmode.queue.deadletters import by_reason, read_letters

    settings = get_settings()
    letters = read_letters(settings, reason or ())
    source = letter_source(settings)
    if as_json:
        print(json.dumps({"topic": source, "by_reason": by_reason(letters),
                          "letters": [letter.as_dict() for letter in letters]}, indent=2, ensure_ascii=False))
        return
    shown = sorted(letters, key=lambda letter: letter.rejection.at)[-limit if limit else None:]
    table = Table(title=f"{source}: {len(letters)} letters"
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


@app.command("replay", short_help="Send the letters' records through the pipeline again.")
def replay_letters(reason: Reasons = None,
                   as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout")] = False,
                   ) -> None:
    """Send the records of the letters (of `--reason`, or all) through again, once per record: to the records topic on
    a cluster, through the in-process pipeline embedded."""
    from snapmode.queue.deadletters import read_letters, replay
    from snapmode.queue.kafka import KafkaProducerQueue

    settings = get_settings()
    letters = read_letters(settings, reason or ())
    if settings.mode == "embedded":
        replay_embedded(settings, letters, as_json)
        return
    producer = KafkaProducerQueue(settings)
    try:
        report = replay(letters, producer, settings.records_topic)
    finally:
        producer.close()
    if as_json:
        print(json.dumps({"topic": settings.records_topic, **report.as_dict()}, indent=2))
        return
    console.print(replayed(report, f"to {settings.records_topic}"))


def replayed(report: ReplayReport, destination: str) -> str:
    """What a replay did, in one line."""
    return (f"replayed {report.published} records of {report.letters} letters {destination}"
            + (f"; {report.without_payload} letters carry no record to replay" if report.without_payload else ""))


def letter_source(settings: Settings) -> str:
    """What the letters are read from: the topic, or the embedded dead-letter file."""
    from snapmode.queue.deadletters import dead_letter_file

    return str(dead_letter_file(settings)) if settings.mode == "embedded" else settings.dead_letter_topic


def replay_embedded(settings: Settings, letters: list[Letter], as_json: bool) -> None:
    """The letters' records indexed again in-process, like `snapmode ingest` of them; new failures add new letters."""
    from snapmode.cli.ingest import StoreCounts, print_report, run_ingest
    from snapmode.queue.deadletters import replay_items, replay_report
    from snapmode.queue.deadletters import dead_letter_file
    from snapmode.platform import Platform

    items = replay_items(letters)
    report = replay_report(letters, len(items))
    ingest, counts = None, None
    if items:
        platform = Platform.build(settings)
        try:
            ingest, counts = run_ingest(platform, items), StoreCounts.of(platform)
        finally:
            platform.close()
    if as_json:
        print(json.dumps({"topic": letter_source(settings), **report.as_dict(),
                          "ingest": ingest.as_dict() if ingest else None}, indent=2))
        return
    console.print(replayed(report, "into the embedded stores"))
    if ingest is not None and counts is not None:
        print_report(ingest, counts, dead_letter_file(settings))
