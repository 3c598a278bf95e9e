"""The `snapmode` command: one subcommand per job."""

from __future__ import annotations

import typer

from snapmode.cli import ingest

app = typer.Typer(name="snapmode", help="SnapMode: query-by-image product search.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)

app.command("ingest")(ingest.ingest)
app.command("search")(ingest.search)
app.command("demo")(ingest.demo)


@app.callback()
def _setup() -> None:
    """Configure logging from settings before any subcommand runs."""
    from snapmode.config import get_settings
    from snapmode.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


if __name__ == "__main__":
    app()
