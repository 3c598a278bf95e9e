"""The `snapmode` command: one subcommand per job."""

from __future__ import annotations

import typer

from snapmode.cli import (bench, catalog, cluster, crawl, dataset, deadletters, delete, demo, export, ingest, publish,
                          model, reindex, search, serve, topology)

app = typer.Typer(name="snapmode", help="SnapMode: query-by-image product search.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)

app.command("ingest")(ingest.ingest)
app.command("search")(search.search)
app.command("demo")(demo.demo)
app.command("crawl")(crawl.crawl)
app.command("serve")(serve.serve)
app.command("delete")(delete.delete)
app.command("reindex")(reindex.reindex)
model.register(app)  # train, eval
app.command("export")(export.export)
app.add_typer(bench.app, name="bench")
app.add_typer(catalog.app, name="catalog")
app.add_typer(topology.app, name="topology")
app.command("publish")(publish.publish)
app.add_typer(cluster.app, name="cluster")
app.add_typer(dataset.app, name="dataset")
app.add_typer(deadletters.app, name="deadletters")


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
