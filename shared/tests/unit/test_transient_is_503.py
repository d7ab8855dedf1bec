"""A request that fails because the database is busy or away is answered 503 problem+json
with Retry-After, not 500 (bench/load.py found a pool timeout answered 500 under 100
clients); any other unexpected error stays a 500. Every authenticated route documents 503."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import TimeoutError as PoolTimeout

from lendkit.auth import Staff
from lendkit.openapi import complete_openapi
from lendkit.problems import PROBLEM_JSON, install_problem_handlers

router = APIRouter()


@router.get("/busy")
async def busy() -> None:
    raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")


@router.get("/broken")
async def broken() -> None:
    raise ValueError("a bug")


@router.get("/guarded")
async def guarded(caller: Staff) -> None:
    return None


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    complete_openapi(app, [router])
    return app


def test_a_pool_timeout_is_a_503_problem_with_retry_after() -> None:
    r = TestClient(_app(), raise_server_exceptions=False).get("/busy")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["retry-after"] == "1"
    assert r.json()["status"] == 503 and "nothing was changed" in r.json()["detail"]


def test_any_other_unexpected_error_is_a_500() -> None:
    r = TestClient(_app(), raise_server_exceptions=False).get("/broken")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_JSON


def test_every_authenticated_route_documents_503() -> None:
    paths = _app().openapi()["paths"]
    assert "503" in paths["/guarded"]["get"]["responses"]
