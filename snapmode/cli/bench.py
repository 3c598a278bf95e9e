"""`snapmode bench`: benchmarks that print figures (embed, ingest, query, hybrid), each measured in one run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from snapmode.cli.options import items
from snapmode.cli.topology import require_cluster_stores
from snapmode.config import get_settings

app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
console = Console(stderr=True)


BENCH_EMBEDDERS = ("default", "backbone", "torch", "onnxruntime", "openvino")


@app.command("embed", short_help="Images/s and peak memory of each embedder, batch 1 to 64.")
def bench_embed(embedders: Annotated[list[str] | None, typer.Option(
                    help="Repeated or comma-separated, each timed in this run: default (the configured embedder), "
                         "backbone (the pretrained EfficientNet-Lite0, torch float32), or the CBIR-GAN of --model on "
                         "torch, onnxruntime or openvino", show_default="default,backbone")] = None,
                model: Annotated[Path | None, typer.Option(help="CBIR-GAN checkpoint", show_default="the one that embeds now")] = None,
                batch_sizes: Annotated[list[str] | None, typer.Option(
                    help="Batch sizes, repeated or comma-separated", show_default="1,8,32,64")] = None,
                devices: Annotated[list[str] | None, typer.Option(
                    help="Repeated or comma-separated (the graph runtimes run on the CPU only)",
                    show_default="cpu, and cuda if present")] = None,
                seconds: Annotated[float, typer.Option(min=0.1, help="Minimum timed seconds per row")] = 2.0,
                as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON")] = False) -> None:
    """Images per second and peak memory of each embedder at each batch size, measured in one run (`--model` replaces
    the checkpoint of all but the backbone)."""
    import torch

    from snapmode.config import get_settings
    from snapmode.platform import build_cbir_gan, build_embedder
    from snapmode.bench.embed import bench_embedder

    settings = get_settings()
    names = items(embedders) or ["default", "backbone"]
    unknown = sorted(set(names) - set(BENCH_EMBEDDERS))
    if unknown:
        raise typer.BadParameter(f"unknown {', '.join(unknown)}: choose from {', '.join(BENCH_EMBEDDERS)}",
                                 param_hint="--embedders")
    checkpoint = model or settings.model_checkpoint
    makers = {
        "default": lambda dev, bs: build_embedder(settings.model_copy(update={"device": dev, "embed_batch_size": bs,
                                                                              "model_checkpoint": checkpoint})),
        "backbone": lambda dev, bs: build_embedder(settings.model_copy(update={  # SNAPMODE_TORCH_THREADS holds
            "embedder": "backbone", "device": dev, "embed_batch_size": bs})),
        **{runtime: (lambda dev, bs, runtime=runtime: build_cbir_gan(checkpoint, runtime=runtime, device=dev,
                                                                      threads=settings.torch_threads, batch_size=bs))
           for runtime in ("torch", "onnxruntime", "openvino")}}
    device_names = items(devices) or ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    try:
        sizes = [int(s) for s in items(batch_sizes) or ["1", "8", "32", "64"]]
    except ValueError as exc:
        raise typer.BadParameter("whole numbers, e.g. 1,8,32", param_hint="--batch-sizes") from exc
    rows = []
    for name in names:
        on = [d for d in device_names if d == "cpu" or name in ("default", "backbone", "torch")]
        rows += bench_embedder(makers[name], on, sizes, min_seconds=seconds, name=name)
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table(title=f"Embedding ({torch.get_num_threads()} CPU threads)")
    for column in ("embedder", "device", "batch", "images/s", "CPU ms/image", "peak MB"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r.embedder, r.device, str(r.batch_size), f"{r.images_per_s:.1f}", f"{r.cpu_ms_per_image:.1f}",
                      f"{r.peak_memory_mb:.0f}")
    Console().print(table)


IngestEmbedder = Literal["configured", "null"]


@app.command("ingest", short_help="Images/s through Storm, freshness at load, CPU per component.")
def bench_ingest(products: Annotated[int, typer.Option(help="Products per round (4 photos each in the generated catalog)")] = 100,
                 catalog: Annotated[Path | None, typer.Option(help="Catalog to take them from", show_default="a generated one")] = None,
                 rounds: Annotated[int, typer.Option(min=1, help="Capacity rounds, each between two bare-embedder passes")] = 2,
                 loads: Annotated[list[str] | None, typer.Option(
                     help="Shares of the capacity at which freshness is measured, repeated or comma-separated",
                     show_default="0.5,0.8")] = None,
                 embedder: Annotated[IngestEmbedder, typer.Option(
                     help="configured: the running topology, with SNAPMODE_EMBEDDER's model; null: a topology of its "
                          "own, submitted for the run, whose embedder costs nothing (the pipeline's own cost)")]
                 = "configured",
                 as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout")] = False,
                 ) -> None:
    """Bare embedder images/s vs images/s from Kafka to searchable through Storm, freshness at fixed loads, and where
    the CPU goes per component."""
    from contextlib import nullcontext

    from snapmode.bench.ingest import TopologyNotReady, bench_ingest as run_bench, null_topology
    from snapmode.bench.ingest_profile import SERVICES
    from snapmode.topologies.deploy import DeployError

    try:
        shares = [float(x) for x in items(loads) or ["0.5", "0.8"]]
    except ValueError as exc:
        raise typer.BadParameter("comma-separated numbers, e.g. 0.5,0.8", param_hint="--loads") from exc
    if any(not 0 < s <= 1.5 for s in shares):
        raise typer.BadParameter("each share is above 0 and at most 1.5", param_hint="--loads")
    settings = get_settings()
    require_cluster_stores(settings)
    topology = null_topology(settings, console.print) if embedder == "null" else nullcontext(settings)
    try:
        with topology as measured:
            result = run_bench(measured, products=products, catalog=catalog, rounds=rounds, loads=shares,
                               progress=console)
    except (TopologyNotReady, DeployError) as exc:
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
    for column in ("component", "cpu s", "ms per image", "idle ms per s"):
        cpu.add_column(column, justify="left" if column == "component" else "right")
    idle = profile.get("idle_cpu_ms_per_s", {})
    for name, seconds in profile.get("cpu_s", {}).items():
        cpu.add_row(name, str(seconds), str(profile["cpu_ms_per_image"].get(name, "")), str(idle.get(name, "")))
    console.print(cpu)
    if not set(SERVICES.values()) & set(profile.get("cpu_s", {})):
        console.print(f"[yellow]no service of the cluster in {settings.cluster_run_dir} was found running: the "
                      "profile counts the topology's processes only (run the benchmark where `snapmode cluster up` ran)")


Store = Literal["lite", "server"]


@app.command("query", short_help="Query latency and QPS, in process and over HTTP, with recall@10.")
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
    from snapmode.bench.query import bench_query as run_bench

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
    index = report.index
    console.print(f"recall@10 of the index against exact search: {report.recall_at_10:.3f} ({index['type']}, "
                  f"built with {index['build']}, searched with {index['search']}, x{index['oversample']} images "
                  "per product asked)")
    console.print(f"fill: real {fill.embed_s} s, synthetic {fill.synthetic:,} in {fill.insert_s} s, index "
                  f"{fill.index_s} s {fill.index}; memory MB {report.memory_mb}; queries per forward pass at "
                  f"{clients} clients {report.mean_batch or '-'}; stores settled before measuring in "
                  f"{report.settled_s} s")
    for name, used in report.cpu_ms_per_query.items():
        console.print(f"CPU ms per query at {clients} clients ({name}): "
                      + ", ".join(f"{process} {ms}" for process, ms in used.items()))
    for name, goals in report.goals().items():
        console.print(f"goals ({name}): " + ", ".join(f"{g} {'yes' if ok else 'no'}" for g, ok in goals.items()))


@app.command("hybrid", short_help="How much words add to a photo: P@1 of photo, words, both.")
def bench_hybrid(products: Annotated[int, typer.Option(min=2, help="Products in the generated catalog")] = 300,
                 views: Annotated[int, typer.Option(min=2, help="Photos per product; the last one is the query")] = 4,
                 seed: Annotated[int, typer.Option(help="Catalog and query seed")] = 7,
                 as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False) -> None:
    """A held-out photo of one product plus a colour or category word of another: how often the first result is a
    product of the photo's category in that colour (or of that category in the photo's colour). Runs in a temporary
    embedded data dir with the configured embedder; the configured stores are not touched."""
    from snapmode.bench.hybrid import METHODS, bench_hybrid as run_bench

    report = run_bench(get_settings(), products=products, views=views, seed=seed)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    q = report.queries
    table = Table(title=f"Hybrid search, {report.products} products: P@1 over {q['colour']} colour and "
                        f"{q['category']} category queries")
    for column in ("method", "colour", "category", "all"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method in METHODS:
        scores = report.p_at_1[method]
        table.add_row(method, *(f"{scores.get(kind, 0.0):.3f}" for kind in ("colour", "category", "all")))
    Console().print(table)
