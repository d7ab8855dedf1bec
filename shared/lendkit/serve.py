"""Run a service's ASGI app with uvicorn, from its settings: ``python -m <service>``."""

from __future__ import annotations

import uvicorn

from lendkit.settings import ServiceSettings


def serve(app_path: str, settings: ServiceSettings, workers: int | None = None) -> None:
    """Serve ``app_path`` (an app factory) with ``workers`` processes (default: the
    settings' ``http_workers``, 0 meaning one per core)."""
    uvicorn.run(
        app_path,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers or settings.worker_count,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        lifespan="on",
    )
