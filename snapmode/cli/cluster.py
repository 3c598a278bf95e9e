"""`snapmode cluster up|down|status|init|fetch`: the native cluster of real services on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from snapmode.cli.options import JsonOption, emit, items
from snapmode.config import Settings, get_settings

app = typer.Typer(name="cluster", help="Run real Kafka, Storm, Solr, Milvus and Redis on this machine.",
                  no_args_is_help=True)
console = Console(stderr=True)

OnlyOption = Annotated[list[str] | None, typer.Option(
    "--only", help="Services, repeated or comma-separated: kafka, storm, solr, milvus, redis", show_default="all")]


def _cluster(settings: Settings):  # type: ignore[no-untyped-def]
    from snapmode.infra.cluster import Cluster, context_from_settings

    return Cluster(context_from_settings(settings), start_timeout_s=settings.cluster_start_timeout_s)


@app.callback()
def _quiet_clients() -> None:
    """Probes poll services that are still starting: keep the client libraries' retries out of the output."""
    import logging

    for name in ("httpx", "kafka", "pymilvus"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _fail(exc: Exception) -> NoReturn:
    console.print(f"[bold red]error:[/] {_escape(str(exc))}", soft_wrap=True)
    raise typer.Exit(1)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def env_lines(cluster) -> list[str]:  # type: ignore[no-untyped-def]
    """Settings that point SnapMode at this cluster (also written to <run dir>/cluster.env)."""
    s = cluster.services
    return ["SNAPMODE_MODE=cluster", f"SNAPMODE_KAFKA_BOOTSTRAP={s['kafka'].url}",
            f"SNAPMODE_SOLR_URL={s['solr'].url}/{get_settings().collection}",
            f"SNAPMODE_MILVUS_URI={s['milvus'].url}", f"SNAPMODE_REDIS_URL={s['redis'].url}"]


def provision(settings: Settings, names: list[str], dim: int | None = None) -> dict[str, str]:
    """Create topics, core and collection on the native cluster that `settings` describe (the `up` path)."""
    return provision_targets(native_settings(settings, _cluster(settings)), names, dim)


def native_settings(settings: Settings, cluster) -> Settings:  # type: ignore[no-untyped-def]
    """`settings` pointed at the native cluster's addresses, as `cluster.env` names them."""
    s = cluster.services
    return settings.model_copy(update={"kafka_bootstrap": s["kafka"].url, "milvus_uri": s["milvus"].url,
                                       "solr_url": f"{s['solr'].url}/{settings.collection}"})


def provision_targets(settings: Settings, names: list[str], dim: int | None = None) -> dict[str, str]:
    """Create topics, core and collection at the addresses the settings name (the `init` path)."""
    from snapmode.platform import embedder_dim
    from snapmode.infra.provision import Targets, provision as provision_all

    if "milvus" in names:
        dim = dim or embedder_dim(settings)
    return provision_all(Targets.from_settings(settings), names, dim or 0)


@app.command()
def up(only: OnlyOption = None,
       init: Annotated[bool, typer.Option(help="Create topics, Solr core and Milvus collection")] = True,
       as_json: JsonOption = False) -> None:
    """Start the services that are not running and wait until each answers its health probe."""
    from snapmode.infra.cluster import parse_only
    from snapmode.infra.errors import ClusterError

    settings = get_settings()
    try:
        names = parse_only(",".join(items(only)))
        cluster = _cluster(settings)
        with console.status("starting the cluster") as spinner:
            def on_event(service: str, message: str) -> None:
                console.print(f"  {service:<9} {_escape(message)}")
                spinner.update(f"{service}: {message}")

            cluster.up(names, on_event=on_event)
            provisioned = {}
            if init:
                spinner.update("provisioning topics, core and collection")
                provisioned = provision(settings, names)
                for service, message in provisioned.items():
                    console.print(f"  {service:<9} {_escape(message)}")
    except ClusterError as exc:
        _fail(exc)
    lines = env_lines(cluster)
    (cluster.ctx.root / "cluster.env").write_text("\n".join(lines) + "\n")
    if as_json:
        emit({**cluster.status_json(names), "provisioned": provisioned, "env_file": cluster.ctx.root / "cluster.env"})
    console.print(f"cluster up in {cluster.status_json(names)['up_s']} s; run dir {cluster.ctx.root}")
    console.print(f"point SnapMode at it with SNAPMODE_ENV_FILE={cluster.ctx.root / 'cluster.env'}:")
    for line in lines:
        console.print(f"  {line}")


@app.command()
def down(only: OnlyOption = None, as_json: JsonOption = False) -> None:
    """Stop the processes this run directory started (by PID); data stays for the next `up`."""
    from snapmode.infra.cluster import parse_only
    from snapmode.infra.errors import ClusterError

    try:
        stopped = _cluster(get_settings()).down(parse_only(",".join(items(only))))
    except ClusterError as exc:
        _fail(exc)
    if as_json:
        emit({"stopped": stopped})
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(only: OnlyOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="One object per service on stdout")] = False) -> None:
    """Health (a real request to each service), PID, memory and port of every service."""
    from snapmode.infra.cluster import parse_only
    from snapmode.infra.errors import ClusterError

    try:
        report = _cluster(get_settings()).status_json(parse_only(",".join(items(only))))
    except ClusterError as exc:
        _fail(exc)
    if as_json:
        emit(report)
    else:
        table = Table(title=f"SnapMode cluster in {report['run_dir']}")
        for column in ("service", "healthy", "pid", "RSS MB", "port", "ready s", "detail"):
            table.add_column(column)
        for s in report["services"].values():  # type: ignore[union-attr]
            table.add_row(s["name"], "[green]yes[/]" if s["healthy"] else "[red]no[/]", str(s["pid"] or "-"),
                          str(s["rss_mb"] or "-"), str(s["port"]), str(s["ready_s"] or "-"), _escape(s["detail"]))
        console.print(table)
        console.print(f"total RSS {report['total_rss_mb']} MB, last up took {report['up_s']} s")
    if not report["all_healthy"]:
        raise typer.Exit(1)


@app.command("init", short_help="Create the topics, the Solr core and the Milvus collection.")
def init_cmd(only: OnlyOption = None,
             dim: Annotated[int | None, typer.Option(min=1, help="Vector dimension", show_default="the embedder's")]
             = None, as_json: JsonOption = False) -> None:
    """Create the Kafka topics, the Solr core and the Milvus collection where the settings point (idempotent).

    SNAPMODE_KAFKA_BOOTSTRAP, SNAPMODE_SOLR_URL and SNAPMODE_MILVUS_URI name the services; unset, the native cluster's.
    """
    from snapmode.infra.cluster import parse_only
    from snapmode.infra.errors import ClusterError

    try:
        provisioned = provision_targets(get_settings(), parse_only(",".join(items(only))), dim)
    except ClusterError as exc:
        _fail(exc)
    for service, message in provisioned.items():
        console.print(f"  {service:<9} {_escape(message)}")
    if as_json:
        emit({"provisioned": provisioned})


@app.command("solr-security", short_help="Write Solr's security.json for basic auth.")
def solr_security(
        solr_home: Annotated[Path, typer.Argument(help="The Solr home (the solr image's /var/solr/data)")],
        owner: Annotated[str | None, typer.Option(help="UID:GID to own the files (the solr image's 8983:8983)")] = None,
) -> None:
    """Write Solr's security.json (basic auth for SNAPMODE_SOLR_USERNAME, the salted hash of SNAPMODE_SOLR_PASSWORD)."""
    from snapmode.infra.solr_security import write_security

    settings = get_settings()
    if settings.solr_auth is None:
        console.print("[bold red]error:[/] solr: SNAPMODE_SOLR_PASSWORD is not set", soft_wrap=True)
        raise typer.Exit(1)
    ids = tuple(int(part) for part in owner.split(":")) if owner else None
    if ids is not None and len(ids) != 2:
        raise typer.BadParameter("UID:GID, e.g. 8983:8983", param_hint="--owner")
    path = write_security(solr_home, *settings.solr_auth, owner=ids)  # type: ignore[arg-type]
    console.print(f"wrote {path} (basic auth for {settings.solr_username})")


@app.command()
def fetch() -> None:
    """Resolve the JVM services' jars from Maven Central into the artifact cache (idempotent)."""
    from snapmode.infra.errors import ClusterError

    cluster = _cluster(get_settings())
    artifacts = cluster.ctx.artifacts
    try:
        artifacts.fetch(cluster.ctx.java(), on_step=lambda step: console.print(f"  {step}"))
    except ClusterError as exc:
        _fail(exc)
    console.print(f"artifacts ready in {artifacts.root}")
