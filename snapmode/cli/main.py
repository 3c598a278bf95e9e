"""The `snapmode` command: one subcommand per job."""

from __future__ import annotations

import typer

from snapmode.cli import crawl, ingest, serve
from snapmode.cli import model as model_cli
from snapmode.cli import catalog
from snapmode.cli import topology as topology_cli
from snapmode.cli import cluster
from snapmode.cli import dataset
from snapmode.cli import bench_hybrid, bench_query
from snapmode.cli import delete as delete_cli
from snapmode.cli import deadletters as deadletters_cli
from snapmode.cli import reindex as reindex_cli
from snapmode.cli import export as export_cli

app = typer.Typer(name="snapmode", help="SnapMode: query-by-image product search.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)

app.command("ingest")(ingest.ingest)
app.command("search")(ingest.search)
app.command("demo")(ingest.demo)
app.command("crawl")(crawl.crawl)
app.command("serve")(serve.serve)
app.command("delete")(delete_cli.delete)
app.command("reindex")(reindex_cli.reindex)
model_cli.register(app)  # train, eval, bench
app.command("export")(export_cli.export)
app.add_typer(catalog.app, name="catalog")
app.add_typer(topology_cli.app, name="topology")
app.command("publish")(topology_cli.publish)
model_cli.bench_app.command("ingest")(topology_cli.bench_ingest)
model_cli.bench_app.command("hybrid")(bench_hybrid.bench_hybrid)
model_cli.bench_app.command("query")(bench_query.bench_query)
app.add_typer(cluster.app, name="cluster")
app.add_typer(dataset.app, name="dataset")
app.add_typer(deadletters_cli.app, name="deadletters")


@app.callback()
def _setup() -> None:
    """Configure logging from settings before any subcommand runs."""
    from snapmode.config import get_settings
    from snapmode.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


def run() -> None:
    """The `snapmode` command: a store that refuses or cannot be reached ends it with a message, not a traceback;
    a data dir held by another process exits with 2, like any other unusable input."""
    from rich.console import Console
    from rich.markup import escape

    from snapmode.interfaces import EmbedderUnavailable, StoreError
    from snapmode.stores.lite import DataDirBusy

    try:
        app()
    except DataDirBusy as exc:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(2) from None
    except EmbedderUnavailable as exc:  # an exported graph that is not its checkpoint's: one line saying what to run
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(2) from None
    except StoreError as exc:  # an index of another model too (`IndexMismatch`): one line saying what to run
        Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    run()
