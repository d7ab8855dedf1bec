"""Pure-ASGI middleware for every request: request id, log context and HTTP metrics
(:class:`RequestContextMiddleware`); authentication and the body size limit before the
body is read (:class:`RequestGate`)."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lendkit.auth import TokenCodec, authenticate
from lendkit.metrics import HTTP_LATENCY, HTTP_REQUESTS
from lendkit.problems import ProblemError, problem_response

REQUEST_ID = "x-request-id"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:100]
                break
        request_id = request_id or uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, path).observe(time.perf_counter() - started)


#: Paths answered without a token: health, readiness and the API documentation.
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)


class RequestGate:
    """Refuses a request before the app reads its body: without a valid bearer token (401;
    every path but :data:`PUBLIC_PATHS`), or with a body over ``max_body_bytes`` (413, from
    ``Content-Length`` at once, or as soon as a chunked body grows past it). The verified
    principal is kept in the request state for :func:`lendkit.auth.principal_from`."""

    def __init__(self, app: ASGIApp, tokens: TokenCodec, max_body_bytes: int) -> None:
        self.app = app
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = authenticate(request, self.tokens)
        except ProblemError as exc:
            await _refuse(request, exc, scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _refuse(request, self._too_large(), scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = self._too_large()
                    raise StarletteHTTPException(413, too_large.detail)
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> ProblemError:
        return ProblemError(
            413, "Content Too Large", f"Request bodies are limited to {self.max_body_bytes} bytes."
        )


async def _refuse(
    request: Request, exc: ProblemError, scope: Scope, receive: Receive, send: Send
) -> None:
    response = problem_response(
        request, exc.status, exc.title, exc.detail, exc.type, dict(exc.headers or {})
    )
    await response(scope, receive, send)
