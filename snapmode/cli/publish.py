"""`snapmode publish`: product records onto the records topic, for the Storm topology to index."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from snapmode.cli.options import JsonOption, emit
from snapmode.config import get_settings

console = Console(stderr=True)


def publish(catalog: Annotated[Path, typer.Argument(help="A catalog dir, a folder of <product_id>/*.jpg, or records .jsonl")],
            site: Annotated[str, typer.Option(help="Site name for catalog/folder input")] = "sample-shop",
            skip: Annotated[int, typer.Option(help="Leave out the first N products")] = 0,
            limit: Annotated[int | None, typer.Option(help="Publish at most N products")] = None,
            as_json: JsonOption = False) -> None:
    """Publish product records to the records topic (key = product key); malformed lines go as they are."""
    from snapmode.pipeline.sources import iter_records
    from snapmode.queue.kafka import KafkaProducerQueue
    from snapmode.topologies.publish import publish as publish_items

    settings = get_settings()
    try:
        items = list(itertools.islice(iter_records(catalog, site=site), skip, None if limit is None else skip + limit))
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="CATALOG") from exc
    producer = KafkaProducerQueue(settings)
    try:
        sent = publish_items(producer, settings.records_topic, items)
    finally:
        producer.close()
    if as_json:
        emit({"published": sent, "topic": settings.records_topic, "bootstrap": settings.kafka_bootstrap})
    console.print(f"published {sent} records to {settings.records_topic} at {settings.kafka_bootstrap}")
