"""`snapmode bench query`: the query path's floor in process beside the API over HTTP, on a store of N vectors."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from snapmode.config import get_settings

Store = Literal["lite", "server"]


def bench_query(vectors: Annotated[int, typer.Option(min=1, help="Vectors in the store: the sample catalog's real "
                                                                  "embeddings, then synthetic ones")] = 10_000,
                clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients of the second run")] = 8,
                store: Annotated[Store, typer.Option(help="lite: milvus-lite in a temporary data dir; server: "
                                                           "SNAPMODE_MILVUS_URI, else a native Milvus started here")]
                = "lite",
                queries: Annotated[int, typer.Option(min=10, help="Queries per measured run")] = 200,
                products: Annotated[int, typer.Option(min=2, help="Products of the sample catalog")] = 300,
                compare: Annotated[bool, typer.Option(help="First measure the API with query batching off "
                                                           "(SNAPMODE_QUERY_BATCH_WAIT_MS=0), then as configured")]
                = False,
                as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False) -> None:
    """Floor (decode + embed + vector search + metadata join in this process, no HTTP) and `POST /search` at 1 and C
    clients against a `snapmode serve` started for the run, without its result cache. The configured stores are
    not touched."""
    import signal
    import sys

    from rich.markup import escape

    from snapmode.infra.errors import ClusterError
    from snapmode.query_bench import bench_query as run_bench

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and the cluster it started too
    err = Console(stderr=True)
    variants = [("unbatched", {"SNAPMODE_QUERY_BATCH_WAIT_MS": "0"})] if compare else []
    variants.append(("api", {}))
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            report = run_bench(get_settings(), vectors=vectors, clients=clients, store=store, queries=queries,
                               products=products, variants=variants, progress=progress)
        except (ClusterError, RuntimeError) as exc:  # a Milvus server or `snapmode serve` that did not start
            err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    fill = report.fill
    load = report.load_avg
    table = Table(title=f"Query path, {store}, {report.vectors:,} x {report.dim}-d vectors ({fill.real} real), "
                        f"k={report.k}; load average {load['start'][0]:.2f} -> {load['end'][0]:.2f}")
    for column in ("run", "clients", "p50 ms", "p99 ms", "QPS", "x floor", "errors"):
        table.add_column(column, justify="left" if column == "run" else "right")
    f = report.floor
    table.add_row("floor (in process)", "1", f"{f.p50_ms:.1f}", f"{f.p99_ms:.1f}", f"{f.qps:.1f}", "1.00", "0")
    for name, runs in report.api.items():
        for c, lat in runs.items():
            table.add_row(f"{name} (HTTP)", c, f"{lat.p50_ms:.1f}", f"{lat.p99_ms:.1f}", f"{lat.qps:.1f}",
                          f"{lat.p50_ms / f.p50_ms:.2f}", str(lat.errors))
    console = Console()
    console.print(table)
    console.print(f"fill: real {fill.embed_s} s, synthetic {fill.synthetic:,} in {fill.insert_s} s, index "
                  f"{fill.index_s} s {fill.index}; memory MB {report.memory_mb}; queries per forward pass at "
                  f"{clients} clients {report.mean_batch or '-'}")
    for name, goals in report.goals().items():
        console.print(f"goals ({name}): " + ", ".join(f"{g} {'yes' if ok else 'no'}" for g, ok in goals.items()))
