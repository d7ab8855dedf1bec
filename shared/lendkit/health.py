"""Liveness (/healthz) and readiness (/readyz: database and Kafka reachable). No auth."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from lendkit.runtime import ServiceRuntime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database_ok(runtime: ServiceRuntime[Any]) -> bool:
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        return True
    except Exception:
        return False


async def _kafka_ok(runtime: ServiceRuntime[Any]) -> bool:
    try:
        metadata = await asyncio.wait_for(runtime.producer.client.fetch_all_metadata(), timeout=2)
        return bool(metadata.brokers())
    except Exception:
        return False


@router.get("/readyz", summary="Readiness: database and Kafka reachable")
async def readyz(request: Request) -> JSONResponse:
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    db, kafka = await asyncio.gather(_database_ok(runtime), _kafka_ok(runtime))
    ready = db and kafka
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {"database": "ok" if db else "down", "kafka": "ok" if kafka else "down"},
    }
    return JSONResponse(body, status_code=200 if ready else 503)
