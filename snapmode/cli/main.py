"""The `snapmode` command: one subcommand per job."""

from __future__ import annotations

from typing import Annotated

import typer

from snapmode.cli import (backup, bench, catalog, cluster, compact, crawl, dataset, deadletters, delete, demo, export,
                          ingest, model, publish, reindex, search, serve, topology)

SEARCH, INGEST, CLUSTER, MODEL, BENCH = ("Search and serve", "Ingest and crawl", "Cluster and topology",
                                         "Model and data", "Benchmarks")
app = typer.Typer(name="snapmode", help="SnapMode: query-by-image product search.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False, context_settings={"help_option_names": ["-h", "--help"]})

app.command("search", short_help="Find the products that look like a photo, or match words.",
            rich_help_panel=SEARCH)(search.search)
app.command("serve", short_help="Serve the search API and the web page.", rich_help_panel=SEARCH)(serve.serve)
app.command("demo", short_help="Generate the sample shop, index it and serve it.", rich_help_panel=SEARCH)(demo.demo)
app.command("ingest", short_help="Index product photos, folders, a catalog or records.",
            rich_help_panel=INGEST)(ingest.ingest)
app.command("crawl", short_help="Crawl a shop for its products and their photos.", rich_help_panel=INGEST)(crawl.crawl)
app.command("publish", short_help="Publish product records to the records topic.",
            rich_help_panel=INGEST)(publish.publish)
app.command("delete", short_help="Delete products from both stores.", rich_help_panel=INGEST)(delete.delete)
app.command("reindex", short_help="Embed every product again with a new model, then swap.",
            rich_help_panel=INGEST)(reindex.reindex)
app.command("backup", short_help="Save both stores into a folder.", rich_help_panel=INGEST)(backup.backup)
app.command("restore", short_help="Restore both stores from a backup folder.", rich_help_panel=INGEST)(backup.restore)
app.add_typer(deadletters.app, name="deadletters", short_help="List and replay what ingestion refused.",
              rich_help_panel=INGEST)
app.add_typer(cluster.app, name="cluster", short_help="Run Kafka, Storm, Solr, Milvus and Redis on this machine.",
              rich_help_panel=CLUSTER)
app.add_typer(topology.app, name="topology", short_help="Submit, watch and kill the Storm ingestion topology.",
              rich_help_panel=CLUSTER)
model.register(app, panel=MODEL)  # train, eval
app.command("export", short_help="Export a checkpoint's int8 graph for the CPU.", rich_help_panel=MODEL)(export.export)
app.command("compact", short_help="Make a checkpoint with shorter codes, for large stores.",
            rich_help_panel=MODEL)(compact.compact)
app.add_typer(catalog.app, name="catalog", short_help="The synthetic sample catalog and its shop website.",
              rich_help_panel=MODEL)
app.add_typer(dataset.app, name="dataset", short_help="Real-image evaluation sets built from Debian packages.",
              rich_help_panel=MODEL)
app.add_typer(bench.app, name="bench", short_help="Benchmarks that print figures.", rich_help_panel=BENCH)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"snapmode {version('snapmode')}")
        raise typer.Exit()


@app.callback()
def _setup(_version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                  help="Print the version and exit.")] = False) -> None:
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
