"""Running the API: services from the container, the worker, uvicorn on a socket bound first."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import uvicorn

from evotr.domain.errors import EvoTrError
from evotr.entrypoints.http.app import PAGE_DIR, ApiServices, create_app
from evotr.entrypoints.http.worker import GenerationWorker


class ServeError(EvoTrError):
    """The server cannot start as asked (address taken, no API key for a public address)."""


@attrs.frozen(slots=True)
class ServeOptions:
    """Where to listen, the key clients must send (never shown: repr=False), the page, CORS origins.

    ``static_dir``: the folder served at ``/`` (the packaged web page; None: a JSON pointer to /v1).
    """

    host: str = "127.0.0.1"
    port: int = 8321
    api_key: str | None = attrs.field(default=None, repr=False)
    static_dir: Path | None = PAGE_DIR
    cors_origins: tuple[str, ...] = ()


def services_for(container: Any) -> ApiServices:
    """The API's use cases on a built container (as ``assistant_for`` does for the CLI)."""
    container.use_cases.init_home().execute()
    settings = container.settings()
    use_cases = container.use_cases
    from evotr.infrastructure.mlx.threads import finish_mlx_thread

    worker = GenerationWorker(settings.serve.max_queue, warm_up=use_cases.warm_up().execute,
                              on_exit=finish_mlx_thread)
    return ApiServices(
        list_models=use_cases.list_models(), resolve_model=use_cases.resolve_model(),
        complete_chat=use_cases.complete_chat(), give_feedback=use_cases.give_feedback(),
        feedback_stats=use_cases.feedback_stats(), list_adapters=use_cases.list_adapters(),
        worker=worker, sampling=settings.sampling, model_id=settings.model.path,
        max_body_bytes=settings.serve.max_body_bytes,
    )


def api_key_from(env: Mapping[str, str], variable: str, *, required: bool) -> str | None:
    """The key in ``variable``; with ``required`` (the flag was given) an unset variable is an error."""
    key = env.get(variable, "").strip()
    if not key and required:
        raise ServeError(f"--api-key-env {variable}: the variable {variable} is not set or empty; "
                         f"export {variable}=<a long random key> first")
    return key or None


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so a taken port is one clear line (uvicorn would exit from inside)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
                         "or --host") from None
    return sock


def check_options(options: ServeOptions) -> None:
    """Refuse a public address without a key: every conversation would be open to the network."""
    if not is_loopback(options.host) and not options.api_key:
        raise ServeError(f"--host {options.host} is reachable from other machines: set an API key first "
                         "(export EVOTR_API_KEY=<key>, or --api-key-env NAME)")


def _server(services: ApiServices, options: ServeOptions, log_level: str = "info") -> uvicorn.Server:
    app = create_app(services, api_key=options.api_key, static_dir=options.static_dir,
                     cors_origins=options.cors_origins)
    # The access log shows method, path and status, never headers: the API key stays out of it.
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))


def run(services: ApiServices, options: ServeOptions, announce: Callable[[str], None]) -> None:
    """Bind, load the model on the worker, serve until Ctrl-C; the worker stops with the server."""
    check_options(options)
    sock = bind(options.host, options.port)
    try:
        services.worker.start()
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        announce(f"EVO-TR API on http://{shown}:{port}/v1 · model {services.model_id} · "
                 f"queue {services.worker.max_queue} · "
                 + ("API key required (Authorization: Bearer)" if options.api_key else "no API key")
                 + (f" · CORS {', '.join(options.cors_origins)}" if options.cors_origins else ""))
        if options.static_dir is not None:
            announce(f"web page: http://{shown}:{port}/")
        _server(services, options).run(sockets=[sock])
    finally:
        services.worker.stop()
        sock.close()


@contextmanager
def running(services: ApiServices, options: ServeOptions = ServeOptions(port=0)) -> Iterator[str]:
    """Serve in a background thread (tests, benchmarks); yields the base URL, e.g. http://127.0.0.1:PORT."""
    sock = bind(options.host, options.port)
    services.worker.start()
    server = _server(services, options, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
        if not server.started:
            raise ServeError("the server stopped while starting")
        yield f"http://{options.host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.worker.stop()
        sock.close()
