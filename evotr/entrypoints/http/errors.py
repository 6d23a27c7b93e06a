"""Errors as OpenAI clients expect them: ``{"error": {"message", "type", "param", "code"}}``, one line."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import JSONResponse

from evotr.application.chat import NoFeedbackTargetError
from evotr.application.errors import UnknownTurnError
from evotr.application.serving.models import UnknownModelError
from evotr.domain.errors import (
    ContextOverflowError,
    DomainValidationError,
    EvoTrError,
    RegistryRuleError,
    TrainingGateClosedError,
)

logger = logging.getLogger("evotr.serve")

# Domain fields named as the request spells them (chat validates "message": the latest one).
_PARAMS = {"message": "messages"}
_CLIENT_ERRORS = (ContextOverflowError, NoFeedbackTargetError, RegistryRuleError, TrainingGateClosedError)


class ApiError(Exception):
    """A refusal with its HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split()) or "error"
        self.type = type_
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        """The JSON object clients parse."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        """The error as an HTTP response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def api_error(exc: BaseException) -> ApiError:
    """Our exceptions → 400/404 with the field they name; anything else a 500 without a traceback."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownModelError):
        return ApiError(404, str(exc), param="model", code="model_not_found")
    if isinstance(exc, UnknownTurnError):
        return ApiError(404, str(exc), param="turn_id", code="turn_not_found")
    if isinstance(exc, DomainValidationError):
        return ApiError(400, str(exc), param=_PARAMS.get(exc.field, exc.field))
    if isinstance(exc, _CLIENT_ERRORS):
        return ApiError(400, str(exc))
    if isinstance(exc, EvoTrError):
        # The server's own state (a broken adapter folder, a read-only database): it says what to fix.
        logger.error("%s", " ".join(str(exc).split()))
        return ApiError(500, str(exc), type_="server_error")
    logger.error("unexpected %s: %s", type(exc).__name__, " ".join(str(exc).split())[:300],
                 exc_info=logger.isEnabledFor(logging.DEBUG))
    return ApiError(500, f"internal error ({type(exc).__name__}); the server log has the details",
                    type_="server_error")
