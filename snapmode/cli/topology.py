"""`snapmode topology submit|kill|status`, `snapmode publish` and `snapmode bench ingest`: the Storm ingestion."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.config import Settings, get_settings

app = typer.Typer(help="The Storm ingestion topology on the cluster's Nimbus.", no_args_is_help=True)
console = Console(stderr=True)


def require_cluster_stores(settings: Settings) -> None:
    """Storm workers are separate processes: they need the real stores, not files of this process."""
    if not settings.milvus_uri or not settings.solr_url:
        raise typer.BadParameter("the topology writes to a Milvus server and Solr: set SNAPMODE_MILVUS_URI and "
                                 "SNAPMODE_SOLR_URL (for the native cluster, `snapmode cluster status` shows them)")


@app.command("submit")
def submit(name: Annotated[str | None, typer.Option(help="Topology name [default: settings.topology_name]")] = None,
           build_dir: Annotated[Path | None, typer.Option(help="Where to build the jar [default: DATA_DIR/topology]")] = None,
           ) -> None:
    """Build the topology jar and submit it to Nimbus, replacing a running one of the same name."""
    from snapmode.topologies.deploy import DeployError, submit as submit_topology

    settings = get_settings()
    require_cluster_stores(settings)
    try:
        with console.status(f"building and submitting {name or settings.topology_name}"):
            submit_topology(settings, build_dir or settings.data_dir / "topology", name=name)
    except DeployError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from exc
    console.print(f"submitted [bold]{name or settings.topology_name}[/] to {settings.nimbus_host}:{settings.nimbus_port}")


@app.command("kill")
def kill(name: Annotated[str | None, typer.Option(help="Topology name [default: settings.topology_name]")] = None,
         wait: Annotated[int, typer.Option(help="Seconds Storm lets in-flight tuples finish")] = 3) -> None:
    """Kill the topology."""
    from snapmode.topologies.nimbus import kill as kill_topology

    settings = get_settings()
    if not kill_topology(settings, name, wait_s=wait):
        console.print(f"no topology named {name or settings.topology_name} is running")
        raise typer.Exit(1)
    console.print(f"killed {name or settings.topology_name}")


def describe_backlog(waiting: dict[str, object]) -> str:
    """One line: lag in all and per partition, records being retried, dead letters by reason."""
    if "error" in waiting:
        return f"backlog unknown: {waiting['error']}"
    lag = waiting["lag"]
    letters = waiting["dead_letters"]
    assert isinstance(lag, dict) and isinstance(letters, dict)
    per_partition = ", ".join(f"p{p} {n}" for p, n in sorted(lag.items()))
    by_reason = ", ".join(f"{reason} {n}" for reason, n in letters.items()) or "none"
    return (f"lag={waiting['total_lag']} ({per_partition or 'no partitions'}) retrying={waiting['retrying']} "
            f"dead letters: {by_reason}")


@app.command("status")
def status(name: Annotated[str | None, typer.Option(help="Topology name [default: settings.topology_name]")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False) -> None:
    """Whether the topology runs, its counters (processed, retried, dead-lettered) and per-component statistics; from
    Kafka, its backlog: records not done per partition (lag), records being retried, dead letters by reason."""
    from snapmode.backlog import backlog
    from snapmode.interfaces import StoreError
    from snapmode.topologies.nimbus import topology_status

    settings = get_settings()
    state = topology_status(settings, name)
    try:
        waiting: dict[str, object] = backlog(settings, name).as_dict()
    except StoreError as exc:  # Kafka away: Storm's own view still helps
        waiting = {"error": str(exc)}
    if as_json:
        print(json.dumps({**state.as_dict(), "backlog": waiting}, indent=2))
    else:
        table = Table(title=f"{state.name}: {state.status}, up {state.uptime_s} s, {state.workers} worker(s)")
        for column in ("component", "executors", "emitted", "acked", "failed", "latency ms"):
            table.add_column(column, justify="left" if column == "component" else "right")
        for component, stats in sorted(state.components.items()):
            table.add_row(component, str(stats.executors), str(stats.emitted), str(stats.acked), str(stats.failed),
                          f"{stats.latency_ms:.1f}")
        console.print(table)
        console.print(" ".join(f"{k}={v}" for k, v in state.counters.items()))
        console.print(describe_backlog(waiting))
        for component, error in state.errors.items():
            console.print(f"[yellow]{component}: {error}")
    if not state.running:
        raise typer.Exit(1)


def publish(catalog: Annotated[Path, typer.Argument(help="A catalog dir, a folder of <product_id>/*.jpg, or records .jsonl")],
            site: Annotated[str, typer.Option(help="Site name for catalog/folder input")] = "sample-shop",
            skip: Annotated[int, typer.Option(help="Leave out the first N products")] = 0,
            limit: Annotated[int | None, typer.Option(help="Publish at most N products")] = None) -> None:
    """Publish product records to the records topic (key = product key); malformed lines go as they are."""
    from snapmode.pipeline.sources import iter_records
    from snapmode.queue import KafkaProducerQueue
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
    console.print(f"published {sent} records to {settings.records_topic} at {settings.kafka_bootstrap}")


def bench_ingest(products: Annotated[int, typer.Option(help="Products per round (4 photos each in the generated catalog)")] = 100,
                 catalog: Annotated[Path | None, typer.Option(help="Catalog to take them from [default: a generated one]")] = None,
                 rounds: Annotated[int, typer.Option(min=1, help="Capacity rounds, each between two bare-embedder passes")] = 2,
                 loads: Annotated[str, typer.Option(help="Shares of the capacity at which freshness is measured")] = "0.5,0.8",
                 as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout")] = False,
                 ) -> None:
    """Bare embedder images/s vs images/s from Kafka to searchable through Storm, freshness at fixed loads, and where
    the CPU goes per component."""
    from snapmode.topologies.bench import TopologyNotReady, bench_ingest as run_bench

    try:
        shares = [float(x) for x in loads.split(",") if x.strip()]
    except ValueError as exc:
        raise typer.BadParameter("comma-separated numbers, e.g. 0.5,0.8", param_hint="--loads") from exc
    if any(not 0 < s <= 1.5 for s in shares):
        raise typer.BadParameter("each share is above 0 and at most 1.5", param_hint="--loads")
    settings = get_settings()
    require_cluster_stores(settings)
    try:
        result = run_bench(settings, products=products, catalog=catalog, rounds=rounds, loads=shares, progress=console)
    except TopologyNotReady as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from exc
    figures = result.as_dict()
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    profile = figures.pop("profile")
    table = Table(title="Ingest through Storm", show_header=False)
    for key, value in figures.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)
    cpu = Table(title=f"CPU per component, capacity rounds ({len(result.freshness_s)} images)")
    for column in ("component", "cpu s", "ms per image"):
        cpu.add_column(column, justify="left" if column == "component" else "right")
    for name, seconds in profile.get("cpu_s", {}).items():
        cpu.add_row(name, str(seconds), str(profile["cpu_ms_per_image"].get(name, "")))
    console.print(cpu)
    latency = profile.get("storm_process_latency_ms", {})
    console.print("Storm process latency ms: " + ", ".join(f"{k} {v}" for k, v in sorted(latency.items())))
