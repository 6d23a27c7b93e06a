"""The Starlette application: routes over the use cases, OpenAI-shaped errors, optional API key.

``create_app(services, static_dir=...)`` serves a folder at ``/`` (the web page, ``PAGE_DIR``)
after the API routes, so a page can be added without touching them.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from evotr.application.adapters import ListAdapters
from evotr.application.feedback import GetFeedbackStats
from evotr.application.serving.completion import CompleteChat
from evotr.application.serving.feedback import GiveFeedback
from evotr.application.serving.models import ListModels, ResolveModel
from evotr.domain.sampling import SamplingParams
from evotr.entrypoints.http.completions import chat_completions, read_json
from evotr.entrypoints.http.errors import ApiError, api_error
from evotr.entrypoints.http.worker import GenerationWorker

# The web page (index.html, app.js, style.css): inside the package, so a wheel install has it.
PAGE_DIR = Path(__file__).with_name("page")

@attrs.define
class ApiServices:
    """The use cases the routes call, the generation worker, and the limits they apply."""

    list_models: ListModels
    resolve_model: ResolveModel
    complete_chat: CompleteChat
    give_feedback: GiveFeedback
    feedback_stats: GetFeedbackStats
    list_adapters: ListAdapters
    worker: GenerationWorker
    sampling: SamplingParams
    model_id: str
    max_body_bytes: int = 512 * 1024


Endpoint = Callable[[Request], Awaitable[Response]]


def _answers_errors(endpoint: Endpoint) -> Endpoint:
    """Every failure becomes OpenAI's error JSON, one line, never a traceback to the client.

    Done per route, not with an ``Exception`` handler: Starlette re-raises those after answering,
    and uvicorn would log a traceback for every refused request.
    """

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Exception as exc:
            return api_error(exc).response()

    return wrapper


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


async def models(request: Request) -> Response:
    """``GET /v1/models``: evotr, evotr:none, each family, each registered version."""
    served = await run_in_threadpool(_services(request).list_models.execute)
    return JSONResponse({"object": "list", "data": [m.as_dict() for m in served]})


async def model(request: Request) -> Response:
    """``GET /v1/models/{id}``: one of them, or 404 naming the valid ones."""
    name = request.path_params["model_id"]
    services = _services(request)
    await run_in_threadpool(services.resolve_model.execute, name)  # UnknownModelError → 404
    served = await run_in_threadpool(services.list_models.execute)
    return JSONResponse(next(m for m in served if m.id == name or (name == "evotr:auto" and m.id == "evotr"))
                        .as_dict())


async def health(request: Request) -> Response:
    """``GET /health``: up, which model, and the generation queue."""
    services = _services(request)
    return JSONResponse({"status": "ok", "model": services.model_id, "queue": services.worker.stats()})


async def feedback(request: Request) -> Response:
    """``POST /v1/feedback`` ``{turn_id, kind, text?, intent?, source?}``: the CLI's rules and errors."""
    services = _services(request)
    body = await read_json(request, services.max_body_bytes)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    for key in ("turn_id", "kind", "text", "intent", "source"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ApiError(400, f"{key}: must be text", param=key)
    if body.get("turn_id") is None or body.get("kind") is None:
        missing = "turn_id" if body.get("turn_id") is None else "kind"
        raise ApiError(400, f"{missing}: is required (thumbs_up, thumbs_down or correction with text)",
                       param=missing)
    receipt = await run_in_threadpool(
        services.give_feedback.execute, body["turn_id"], body["kind"], body.get("text"),
        body.get("source") or "api", body.get("intent"),
    )
    return JSONResponse(receipt.as_dict(), status_code=201)


async def feedback_stats(request: Request) -> Response:
    """``GET /v1/feedback/stats``: the shape of `evotr feedback stats --json`."""
    report = await run_in_threadpool(_services(request).feedback_stats.execute)
    return JSONResponse(report.as_dict())


async def adapters(request: Request) -> Response:
    """``GET /v1/adapters``: the shape of `evotr adapters list --json`."""
    reports = await run_in_threadpool(_services(request).list_adapters.execute)
    return JSONResponse({"object": "list", "data": [r.as_dict() for r in reports]})


async def index(request: Request) -> Response:
    """Without a web page: where the API is."""
    return JSONResponse({"name": "EVO-TR", "api": "/v1", "models": "/v1/models", "health": "/health"})


async def _routing_error(request: Request, exc: Exception) -> Response:
    """An unknown path or a wrong method, in the same error shape."""
    assert isinstance(exc, HTTPException)
    return ApiError(exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None,
                    headers=exc.headers).response()


class ApiKeyMiddleware:
    """``Authorization: Bearer <key>`` on every ``/v1/`` route, compared in constant time."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self._app = app
        self._key = key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/") and not self._authorised(scope):
            refusal = ApiError(401, "missing or wrong API key: send the header Authorization: Bearer <key>",
                               code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
            await refusal.response()(scope, receive, send)
            return
        await self._app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, token = header.partition(b" ")
        # compare_digest: how long the comparison takes says nothing about the key.
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key)


def create_app(
    services: ApiServices, *, api_key: str | None = None, static_dir: Path | None = None,
    cors_origins: tuple[str, ...] = (),
) -> Starlette:
    """The ASGI app; the caller starts ``services.worker`` (it loads the model) and stops it.

    ``cors_origins``: pages on these origins may call the API from a browser (serve.cors_origins);
    none by default, so a page elsewhere on the web cannot make the browser talk to a local server.
    """
    api = [("/v1/chat/completions", chat_completions, "POST"), ("/v1/models", models, "GET"),
           ("/v1/models/{model_id:path}", model, "GET"), ("/v1/feedback", feedback, "POST"),
           ("/v1/feedback/stats", feedback_stats, "GET"), ("/v1/adapters", adapters, "GET"),
           ("/health", health, "GET")]
    routes: list[BaseRoute] = [Route(path, _answers_errors(func), methods=[method])
                               for path, func, method in api]
    if static_dir is not None:
        routes.append(Mount("/", StaticFiles(directory=static_dir, html=True), name="page"))
    else:
        routes.append(Route("/", index, methods=["GET"]))
    middleware: list[Middleware] = []
    if cors_origins:
        # Outermost: a preflight OPTIONS carries no Authorization header and must not meet the key check.
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins),
                                     allow_methods=["GET", "POST"],
                                     allow_headers=["Authorization", "Content-Type"], max_age=600))
    if api_key:
        middleware.append(Middleware(ApiKeyMiddleware, key=api_key))
    handlers: dict[Any, Any] = {HTTPException: _routing_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.services = services
    return app
