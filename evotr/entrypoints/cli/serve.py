"""`evotr serve`: the OpenAI-compatible HTTP API on the one resident model."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click

from evotr.entrypoints.cli.errors import friendly_errors


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: serve.port, 8321; 0 picks a free one).")
@click.option("--api-key-env", default="EVOTR_API_KEY", show_default=True, metavar="NAME",
              help="Environment variable holding the key clients must send as Authorization: Bearer. "
                   "Unset: no key (only allowed on 127.0.0.1).")
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, host: str | None, port: int | None, api_key_env: str) -> None:
    """Serve the OpenAI-compatible API (/v1/chat/completions, /v1/models, feedback, /health), a page at /."""
    from evotr.entrypoints.http.server import ServeOptions, api_key_from, check_options, run, services_for

    container: Any = ctx.obj.container()
    settings = container.settings().serve
    explicit = ctx.get_parameter_source("api_key_env") is not click.core.ParameterSource.DEFAULT
    options = ServeOptions(host or settings.host, settings.port if port is None else port,
                           api_key_from(os.environ, api_key_env, required=explicit),
                           cors_origins=settings.cors_origins)
    check_options(options)  # before the (slow) model load
    click.echo(f"Model yükleniyor / loading the model {container.settings().model.path}…", err=True)
    # uvicorn shuts down gracefully on Ctrl-C, then re-raises it: for a server that is the normal
    # stop. It does not always re-raise (seen in CI under load), so the line is said either way.
    with contextlib.suppress(KeyboardInterrupt):
        run(services_for(container), options, lambda line: click.echo(line, err=True))
    click.echo("EVO-TR API stopped", err=True)
