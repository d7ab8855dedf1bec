"""RFC 9457 problem details for every error response (application/problem+json)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from lendkit.errors import ServiceError
from lendkit.failures import is_transient
from lendkit.logging import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://overdue-platform.dev/problems/"
log = get_logger(__name__)


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or TYPE_BASE + title.lower().replace(" ", "-")
        self.headers = headers
        self.extensions = extensions


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body["instance"] = request.url.path
    body.update({k: v for k, v in jsonable_encoder(extensions).items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        exc.title,
        exc.detail,
        exc.type,
        dict(exc.headers or {}),
        **exc.extensions,
    )


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    """A use case's refusal (``lendkit.errors``): its status, its message as the detail, and
    the field at fault (when known) in ``errors`` like a validation error."""
    assert isinstance(exc, ServiceError)
    errors = (
        None
        if exc.field is None
        else [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
    )
    type_ = TYPE_BASE + exc.title.lower().replace(" ", "-")
    return problem_response(request, exc.status, exc.title, str(exc), type_, errors=errors)


def refusal_document(exc: ServiceError | ProblemError) -> dict[str, Any]:
    """The problem document of a refusal without answering it: one item of a batch answer
    (as the item's own request would have been answered, without ``instance``)."""
    if isinstance(exc, ProblemError):
        body: dict[str, Any] = {"type": exc.type, "title": exc.title, "status": exc.status}
        if exc.detail is not None:
            body["detail"] = exc.detail
        return body
    body = {
        "type": TYPE_BASE + exc.title.lower().replace(" ", "-"),
        "title": exc.title,
        "status": exc.status,
        "detail": str(exc),
    }
    if exc.field is not None:
        body["errors"] = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
    return body


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(
        request, exc.status_code, title, detail, headers=dict(exc.headers or {})
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        # Not JSON at all: the request is malformed (400), not a well-formed invalid one (422).
        return problem_response(
            request,
            400,
            "Malformed JSON",
            "The request body is not valid JSON; nothing was changed.",
            TYPE_BASE + "malformed-json",
            errors=errors,
        )
    unknown = [
        ".".join(str(part) for part in e["loc"][1:] or e["loc"])
        for e in errors
        if e["type"] == "extra_forbidden"
    ]
    detail = "One or more fields are missing or malformed; nothing was changed."
    if unknown:
        detail = f"Unknown fields: {', '.join(unknown)}. {detail}"
    return problem_response(
        request, 422, "Request is not valid", detail, TYPE_BASE + "validation", errors=errors
    )


#: Seconds a client is asked to wait before retrying a 503.
RETRY_AFTER_SECONDS = 1


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_transient(exc):
        # The database is busy (no pooled connection within the pool timeout: found by
        # bench/load.py, answered 500 before) or away. The transaction rolled back, the
        # Idempotency-Key's row with it: the same request again is safe and may succeed.
        log.warning("transient failure answered 503", path=request.url.path, error=repr(exc))
        return problem_response(
            request,
            503,
            "Service Unavailable",
            "The service cannot reach its database right now; nothing was changed. Retry "
            "the same request (with the same Idempotency-Key) after Retry-After seconds.",
            TYPE_BASE + "temporarily-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.exception("unhandled error", path=request.url.path)
    return problem_response(request, 500, "Internal Server Error", "The error was logged.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
