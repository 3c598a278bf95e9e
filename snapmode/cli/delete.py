"""`snapmode delete KEY...`: remove products, from the stores directly (embedded) or through the topology (cluster)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated

import typer
from rich.console import Console

from snapmode.config import Settings, get_settings
from snapmode.records import InvalidRecord, Tombstone

console = Console(stderr=True)


def tombstones_of(keys: list[str], at: datetime) -> list[Tombstone]:
    """One tombstone per key, all of version `at`; a malformed key is a usage error naming it."""
    try:
        return [Tombstone.of_key(key, reason="operator", at=at) for key in dict.fromkeys(keys)]
    except InvalidRecord as exc:
        raise typer.BadParameter(str(exc), param_hint="KEY") from exc


def delete(keys: Annotated[list[str], typer.Argument(help="Product keys, site:product_id")],
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
           direct: Annotated[bool, typer.Option(help="Write the stores from this process even on a cluster")]
           = False,
           as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON on stdout")] = False) -> None:
    """Delete products from both stores, keeping a tombstone that refuses their older records. Embedded: the stores
    are written at once. Cluster (SNAPMODE_MODE=cluster): tombstones go to the records topic, and the topology
    applies them in order. Asks first unless --yes."""
    settings = get_settings()
    tombstones = tombstones_of(keys, datetime.now(timezone.utc))
    if not yes and not typer.confirm(f"delete {len(tombstones)} products ({', '.join(t.key for t in tombstones[:3])}"
                                     f"{', ...' if len(tombstones) > 3 else ''})?", err=True):
        raise typer.Exit(1)
    if settings.mode == "cluster" and not direct:
        sent = publish_tombstones(settings, tombstones)
        if as_json:
            typer.echo(json.dumps({"published": sent, "topic": settings.records_topic,
                                   "keys": [t.key for t in tombstones]}))
        console.print(f"published {sent} tombstones to {settings.records_topic} at {settings.kafka_bootstrap}: "
                      "the topology deletes them")
        return
    deleted = set(delete_here(settings, tombstones))
    if as_json:
        typer.echo(json.dumps({"deleted": sorted(deleted),
                               "kept": [t.key for t in tombstones if t.key not in deleted]}))
    else:
        for t in tombstones:
            print(f"{t.key}\t{'deleted' if t.key in deleted else 'kept: the store holds a newer version'}")
    console.print(f"deleted {len(deleted)} of {len(tombstones)} products")


def delete_here(settings: Settings, tombstones: list[Tombstone]) -> list[str]:
    """Apply the tombstones to the configured stores from this process; the keys deleted."""
    from snapmode.platform import embedder_dim
    from snapmode.pipeline.steps import delete_products
    from snapmode.stores.factory import build_stores

    vectors, metadata = build_stores(settings, embedder_dim(settings))
    try:
        return delete_products(vectors, metadata, tombstones)
    finally:
        vectors.close()
        metadata.close()


def publish_tombstones(settings: Settings, tombstones: list[Tombstone]) -> int:
    """Send the tombstones to the records topic, keyed by product key like the records they follow."""
    from snapmode.queue.kafka import KafkaProducerQueue
    from snapmode.topologies.publish import publish

    producer = KafkaProducerQueue(settings)
    try:
        return publish(producer, settings.records_topic, tombstones)
    finally:
        producer.close()
