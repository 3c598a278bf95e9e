"""`snapmode topology submit|kill|status`: the Storm ingestion topology on the cluster's Nimbus."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.cli.options import JsonOption, emit
from snapmode.config import Settings, get_settings

app = typer.Typer(help="The Storm ingestion topology on the cluster's Nimbus.", no_args_is_help=True)
console = Console(stderr=True)


def require_cluster_stores(settings: Settings) -> None:
    """Storm workers are separate processes: they need the real stores, not files of this process."""
    if not settings.milvus_uri or not settings.solr_url:
        raise typer.BadParameter("the topology writes to a Milvus server and Solr: set SNAPMODE_MODE=cluster (the "
                                 "native cluster's services), or SNAPMODE_MILVUS_URI and SNAPMODE_SOLR_URL")


@app.command("submit")
def submit(name: Annotated[str | None, typer.Option(help="Topology name", show_default="settings.topology_name")] = None,
           build_dir: Annotated[Path | None, typer.Option(help="Where to build the jar", show_default="DATA_DIR/topology")] = None,
           as_json: JsonOption = False) -> None:
    """Build the topology jar and submit it to Nimbus, replacing a running one of the same name."""
    from snapmode.topologies.deploy import DeployError, submit as submit_topology

    settings = get_settings()
    require_cluster_stores(settings)
    if settings.embedder == "null":
        raise typer.BadParameter("the null embedder only measures the pipeline (`snapmode bench ingest --embedder "
                                 "null` submits a topology of its own): set SNAPMODE_EMBEDDER to a model")
    try:
        with console.status(f"building and submitting {name or settings.topology_name}"):
            submit_topology(settings, build_dir or settings.data_dir / "topology", name=name)
    except DeployError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from exc
    if as_json:
        emit({"submitted": name or settings.topology_name, "nimbus": f"{settings.nimbus_host}:{settings.nimbus_port}"})
    console.print(f"submitted [bold]{name or settings.topology_name}[/] to {settings.nimbus_host}:{settings.nimbus_port}")


@app.command("kill")
def kill(name: Annotated[str | None, typer.Option(help="Topology name", show_default="settings.topology_name")] = None,
         wait: Annotated[int, typer.Option(help="Seconds Storm lets in-flight tuples finish")] = 3,
         as_json: JsonOption = False) -> None:
    """Kill the topology."""
    from snapmode.topologies.nimbus import kill as kill_topology

    settings = get_settings()
    if not kill_topology(settings, name, wait_s=wait):
        console.print(f"no topology named {name or settings.topology_name} is running")
        raise typer.Exit(1)
    if as_json:
        emit({"killed": name or settings.topology_name})
    console.print(f"killed {name or settings.topology_name}")


def describe_backlog(waiting: dict[str, object]) -> str:
    """One line: lag in all and per partition, records being retried, dead letters by reason; and one more for the
    hosts that records wait for in the retry topic, if any."""
    if "error" in waiting:
        return f"backlog unknown: {waiting['error']}"
    lag = waiting["lag"]
    letters = waiting["dead_letters"]
    assert isinstance(lag, dict) and isinstance(letters, dict)
    per_partition = ", ".join(f"p{p} {n}" for p, n in sorted(lag.items()))
    by_reason = ", ".join(f"{reason} {n}" for reason, n in letters.items()) or "none"
    line = (f"lag={waiting['total_lag']} ({per_partition or 'no partitions'}) retrying={waiting['retrying']} "
            f"dead letters: {by_reason}")
    hosts = waiting.get("waiting") or {}
    assert isinstance(hosts, dict)
    if hosts:
        line += "\nwaiting for their hosts: " + "; ".join(
            f"{host or '(no host)'} {h['records']} (breaker {describe_breaker(h)})" for host, h in hosts.items())
    return line


def describe_breaker(host: dict[str, object], now: float | None = None) -> str:
    """`open, 42 s left`, `half-open: the next try probes`, or `closed` (failing, not yet the threshold's times)."""
    until = host.get("open_until")
    if host["breaker"] == "open" and isinstance(until, (int, float)):
        return f"open, {max(0.0, until - (time.time() if now is None else now)):.0f} s left"
    return "half-open: the next try probes" if host["breaker"] == "half-open" else "closed"


@app.command("status", short_help="Whether the topology runs, its counters, lag and dead letters.")
def status(name: Annotated[str | None, typer.Option(help="Topology name", show_default="settings.topology_name")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False) -> None:
    """Whether the topology runs, its counters (processed, rescheduled, retried, dead-lettered) and per-component
    statistics; from Kafka, its backlog: records not done per partition (lag), records being retried, those waiting
    in the retry topic per host with the host's breaker, dead letters by reason."""
    from snapmode.queue.backlog import backlog
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
