"""Wires the console: its settings, the services' API client, the live-event hub, the app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console.adapters.event_hub import EventHub
from console.adapters.services import PlatformApi
from console.entrypoints import web
from console.entrypoints.session import LoginRequired, Refused, locale_of
from console.i18n import t
from console.settings import Settings
from lendkit.auth import TokenCodec
from lendkit.ops.tail import loan_topics
from lendkit.problems import ProblemError

STATIC = Path(__file__).resolve().parent / "static"
#: The console's own timing of every answer (milliseconds), for the loans list's budget.
TIMING_HEADER = "X-Console-Time-Ms"


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.api = PlatformApi(settings, transport)
        app.state.hub = EventHub(
            settings.kafka_bootstrap_servers,
            loan_topics(settings.topic_namespace),
            keep=settings.live_buffer,
        )
        await app.state.hub.start()
        try:
            yield
        finally:
            await app.state.hub.stop()
            await app.state.api.aclose()

    app = FastAPI(title="Operations console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.tokens = TokenCodec(settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(web.router)

    @app.middleware("http")
    async def timing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.started = time.perf_counter()
        response = await call_next(request)
        elapsed = (time.perf_counter() - request.state.started) * 1000
        response.headers[TIMING_HEADER] = f"{elapsed:.1f}"
        response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'",
        )
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request") == "true" or request.url.path.endswith("/stream"):
            return Response(status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if request.headers.get("hx-request") == "true" or request.url.path.endswith("/stream"):
            return Response(status_code=403)
        return web.render(
            request,
            "login.html",
            locale_of(request),
            None,
            403,
            error=t("refused", locale_of(request)),
        )

    @app.exception_handler(ProblemError)
    async def problem(request: Request, exc: ProblemError) -> Response:
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse(
                {"title": exc.title, "status": exc.status, "detail": exc.detail},
                status_code=exc.status,
                media_type="application/problem+json",
            )
        body = f'<p role="alert" class="error">{escape(exc.title)}: {escape(exc.detail or "")}</p>'
        return HTMLResponse(body, status_code=exc.status)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
