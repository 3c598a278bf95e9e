"""`snapmode serve`: the API and web page under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from snapmode.config import Settings, get_settings


def serve_api(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the API for `settings` until interrupted. A stale exported graph (`GraphMismatch`) and an index made by
    another model than the embedder (`IndexMismatch`) are refused first, in one line, before the model loads."""
    import uvicorn

    from snapmode.platform import check_embedder, embedder_identity
    from snapmode.services.access import open_api_refusal
    from snapmode.services.app import create_app
    from snapmode.stores.factory import build_vector_store

    if refusal := open_api_refusal(settings, host or settings.host):
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(2)
    check_embedder(settings)  # a stale exported graph, in one line too
    model_id, dim = embedder_identity(settings)
    index = build_vector_store(settings, dim, model_id=model_id, serving=True)  # the API's lifespan opens it again
    try:
        # No log_config: uvicorn's records reach the root handler of `configure_logging`, rendered like every line;
        # its access lines are replaced by the app's own `api.request` line, which carries the request id.
        uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port,
                    log_level=settings.log_level.lower(), log_config=None, access_log=False)
    finally:
        index.close()


def serve(host: Annotated[str | None, typer.Option(help="Address to listen on", show_default="settings.host")] = None,
          port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port", show_default="settings.port")] = None
          ) -> None:
    """Serve the search API and the web page (OpenAPI docs at /docs)."""
    serve_api(get_settings(), host, port)
