"""``POST /v1/chat/completions`` bodies → a CompletionRequest; wrong types are 400s naming the field.

Unknown fields are ignored, as OpenAI clients send many (``user``, ``logit_bias``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from evotr.application.chat import AdapterChoice, validate_message
from evotr.application.serving.completion import CompletionRequest, requested_sampling
from evotr.domain.client_conversation import ClientConversation
from evotr.domain.conversation import Message, Role
from evotr.domain.errors import DomainValidationError
from evotr.domain.sampling import SamplingParams
from evotr.domain.stop_sequences import StopSequences
from evotr.entrypoints.http.errors import ApiError

_ROLES = {"system": Role.SYSTEM, "developer": Role.SYSTEM, "user": Role.USER, "assistant": Role.ASSISTANT}


@attrs.frozen(slots=True)
class ParsedCompletion:
    """The request for the use case plus how to answer: streamed or not, with usage or not."""

    request: CompletionRequest
    model: str
    stream: bool
    include_usage: bool


def parse_completion(
    body: Any, configured: SamplingParams, resolve_model: Callable[[str], AdapterChoice]
) -> ParsedCompletion:
    """Validate ``body``; ApiError (400, or 404 for an unknown model) on the first problem."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = _typed(body, "model", str, "text", default="evotr")
    stream = _typed(body, "stream", bool, "true or false", default=False)
    options = _typed(body, "stream_options", dict, "an object", default={})
    include_usage = _typed(options, "include_usage", bool, "true or false", default=False,
                           param="stream_options.include_usage")
    n = _typed(body, "n", int, "a whole number", default=1)
    if n != 1:
        raise ApiError(400, f"n: only 1 choice per request is supported, got {n}", param="n")
    conversation = _conversation(body.get("messages"))
    max_tokens = _typed(body, "max_completion_tokens", int, "a whole number", default=None)
    sampling = requested_sampling(
        configured,
        temperature=_typed(body, "temperature", float, "a number", default=None),
        top_p=_typed(body, "top_p", float, "a number", default=None),
        max_tokens=_typed(body, "max_tokens", int, "a whole number", default=max_tokens),
        seed=_typed(body, "seed", int, "a whole number", default=None),
    )
    stop = StopSequences(body.get("stop"))
    extras = _typed(body, "evotr", dict, "an object", default={})
    source = _typed(extras, "source", str, "text", default="api", param="evotr.source")
    choice = resolve_model(model)
    request = CompletionRequest(conversation, choice, sampling, stop, source)
    return ParsedCompletion(request, model, stream, include_usage)


def _typed(body: dict[str, Any], key: str, kind: type, noun: str, *, default: Any,
           param: str | None = None) -> Any:
    """``body[key]`` if it has type ``kind`` (null: the default); else a 400 naming the field."""
    value = body.get(key)
    if value is None:
        return default
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        name = param or key
        raise ApiError(400, f"{name}: must be {noun}, got {_json_type(value)}", param=name)
    return value


def _conversation(messages: Any) -> ClientConversation:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages: must be a non-empty list of {role, content} objects", param="messages")
    parsed: list[Message] = []
    for index, raw in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(raw, dict):
            raise ApiError(400, f"{where}: must be an object with role and content", param=where)
        role = raw.get("role")
        if role not in _ROLES:
            shown = repr(role) if isinstance(role, str) and len(role) < 40 else _json_type(role)
            raise ApiError(400, f"{where}.role: {shown} is not supported (system, developer, user, "
                           "assistant)", param=f"{where}.role")
        content = _content(raw.get("content"), f"{where}.content")
        if _ROLES[role] is Role.ASSISTANT and not content.strip():
            continue  # an empty or tool-call-only answer adds nothing to the context
        if index == len(messages) - 1:
            content = validate_message(content)  # the chat's own limits: empty, too long, bad text
        elif not content.strip():
            raise ApiError(400, f"{where}.content: must not be empty", param=f"{where}.content")
        parsed.append(Message(_ROLES[role], content))
    try:
        return ClientConversation.from_messages(parsed)
    except DomainValidationError as exc:
        raise ApiError(400, str(exc), param="messages") from None


def _content(value: Any, where: str) -> str:
    """A string, or OpenAI's list of parts of which only text parts are supported."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            text = part.get("text") if isinstance(part, dict) and part.get("type") == "text" else None
            if not isinstance(text, str):
                raise ApiError(400, f"{where}: only text parts are supported", param=where)
            texts.append(text)
        return "".join(texts)
    raise ApiError(400, f"{where}: must be text or a list of text parts, got {_json_type(value)}",
                   param=where)


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
