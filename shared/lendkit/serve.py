"""Run a service's ASGI app with uvicorn, from its settings: ``python -m <service>``."""

from __future__ import annotations

import uvicorn

from lendkit.settings import ServiceSettings


def serve(app_path: str, settings: ServiceSettings, workers: int = 1) -> None:
    uvicorn.run(
        app_path,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        lifespan="on",
    )
