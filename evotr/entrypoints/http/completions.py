"""``POST /v1/chat/completions``: queue the turn on the worker, answer as JSON or as SSE chunks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from evotr.application.chat import ChatReply
from evotr.entrypoints.http.errors import ApiError, api_error
from evotr.entrypoints.http.openai_request import ParsedCompletion, parse_completion
from evotr.entrypoints.http.worker import Job, QueueFullError

if TYPE_CHECKING:
    from evotr.entrypoints.http.app import ApiServices


def extras(reply: ChatReply, job: Job) -> dict[str, Any]:
    """What EVO-TR adds under ``evotr``: routing, adapter, turn id (for feedback) and timings."""
    data = reply.as_dict()
    del data["text"]
    data["timings_ms"] = {**data["timings_ms"], "queue": round(job.queue_ms, 3)}  # type: ignore[dict-item]
    return data


def usage(reply: ChatReply) -> dict[str, int]:
    """OpenAI's token counts (completion: the pieces the model produced)."""
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens}


async def chat_completions(request: Request) -> Response:
    """Validate (400/404 at once), queue (503 when full), then answer whole or streamed."""
    services: ApiServices = request.app.state.services
    body = await read_json(request, services.max_body_bytes)
    parsed = parse_completion(body, services.sampling, services.resolve_model.execute)
    try:
        job = services.worker.submit(lambda gone: services.complete_chat.execute(parsed.request, gone))
    except QueueFullError as exc:
        raise ApiError(503, str(exc), type_="server_error", code="queue_full",
                       headers={"Retry-After": str(exc.retry_after)}) from None
    items = job.items()
    async with _cancel_on_disconnect(request, services, job):
        if not parsed.stream:
            pieces = [item async for item in items]
            reply = pieces.pop()
            return JSONResponse(_completion(parsed, reply, job))
        # Everything that can fail does so before the first piece: answer it with a status code.
        first = await anext(items, None)
    if first is None:  # the client went away while the request waited
        return Response(status_code=499)
    return StreamingResponse(_sse(services, parsed, job, first, items), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _completion(parsed: ParsedCompletion, reply: Any, job: Job) -> dict[str, Any]:
    assert isinstance(reply, ChatReply), "a chat turn ends with its reply"
    return {
        "id": _new_id(), "object": "chat.completion", "created": int(time.time()), "model": parsed.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                     "finish_reason": reply.finish_reason, "logprobs": None}],
        "usage": usage(reply), "evotr": extras(reply, job),
    }


async def _sse(services: ApiServices, parsed: ParsedCompletion, job: Job, first: Any,
               items: AsyncIterator[Any]) -> AsyncIterator[str]:
    """``data: {chunk}`` events, the finish chunk with our extras, usage if asked, ``data: [DONE]``."""
    head = {"id": _new_id(), "object": "chat.completion.chunk", "created": int(time.time()),
            "model": parsed.model}
    if parsed.include_usage:
        head["usage"] = None

    def chunk(delta: dict[str, str], finish: str | None = None, **more: Any) -> str:
        data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                **more}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    finished = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        item = first
        while not isinstance(item, ChatReply):
            yield chunk({"content": item})
            item = await anext(items)
        finished = True
        yield chunk({}, item.finish_reason, evotr=extras(item, job))
        if parsed.include_usage:
            yield f"data: {json.dumps({**head, 'choices': [], 'usage': usage(item)})}\n\n"
        yield "data: [DONE]\n\n"
    except Exception as exc:  # StopAsyncIteration too: the work ended without its reply
        finished = True  # the status line is already sent: the error goes into the stream
        yield f"data: {json.dumps(api_error(exc).body(), ensure_ascii=False)}\n\n"
    finally:
        if not finished:  # the client disconnected: stop the generation, store nothing
            services.worker.cancel(job)


@contextlib.asynccontextmanager
async def _cancel_on_disconnect(request: Request, services: ApiServices, job: Job) -> AsyncIterator[None]:
    """While the handler waits (queue, whole answer), a disconnect cancels the job."""

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        services.worker.cancel(job)

    task = asyncio.create_task(watch())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON: 413 beyond ``limit`` bytes (checked while reading), 400 if not UTF-8 JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    size, chunks = 0, []
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(part)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"the request body is not valid UTF-8 ({exc.reason} at byte "
                            f"{exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
                            f"column {exc.colno})") from None


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, f"the request body is {size:,}+ bytes; at most {limit:,} are accepted "
                         "(serve.max_body_bytes)", code="request_too_large")


def _new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"
