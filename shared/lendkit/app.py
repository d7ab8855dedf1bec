"""The FastAPI application factory every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from lendkit.health import router as health_router
from lendkit.metrics import router as metrics_router
from lendkit.middleware import RequestContextMiddleware, RequestGate
from lendkit.openapi import complete_openapi
from lendkit.problems import install_problem_handlers
from lendkit.runtime import ServiceRuntime


def create_service_app(
    runtime: ServiceRuntime[Any],
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    version: str = "1.0.0",
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # operationId = the route function's name: stable, readable names in generated clients
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.runtime = runtime
    app.state.tokens = runtime.tokens
    install_problem_handlers(app)
    # The last added runs first: request id and metrics around the gate.
    app.add_middleware(
        RequestGate, tokens=runtime.tokens, max_body_bytes=runtime.settings.http_max_body_bytes
    )
    app.add_middleware(RequestContextMiddleware, service=runtime.settings.service_name)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    complete_openapi(app, [health_router, metrics_router, *routers])
    return app
