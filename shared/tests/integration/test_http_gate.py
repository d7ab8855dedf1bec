"""What every service app refuses before a route runs: requests without a valid token (401,
before the body is read) and bodies over the size limit (413); money that is not a JSON
integer and text with control or bidirectional characters (422); and an Idempotency-Key is
the caller's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lendkit.app import create_service_app
from lendkit.auth import Principal, Role, require_roles
from lendkit.contracts.money import PositiveMinor
from lendkit.db import UnitOfWork
from lendkit.idempotency import IdempotencyKey, respond_once
from lendkit.openapi import FreeText, service_router
from lendkit.runtime import ServiceRuntime, runtime_of
from lendkit.settings import ServiceSettings
from lendkit.testing import KAFKA, database_url, unique


class Deposit(BaseModel):
    amount_minor: PositiveMinor
    note: FreeText = Field(default="", max_length=200)


router = service_router("kit")


@router.post("/deposits")
async def deposit(
    body: Deposit,
    request: Request,
    idempotency_key: IdempotencyKey,
    caller: Principal = Depends(require_roles(Role.SERVICE)),
) -> JSONResponse:
    async with runtime_of(request).uow() as uow:

        async def work() -> tuple[int, Any]:
            return 201, {"by": caller.subject, "amount_minor": body.amount_minor}

        return await respond_once(
            uow,
            caller=caller,
            key=idempotency_key,
            scope="kit:deposits",
            body=body.model_dump(),
            work=work,
        )


@pytest.fixture
async def app_client(
    kit_db: object,
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime[Any]]]:
    settings = ServiceSettings(
        service_name="kit-gate",
        database_url=database_url("kit_test"),
        kafka_bootstrap_servers=KAFKA,
        run_consumers=False,
        run_outbox_relay=False,
        http_max_body_bytes=2_048,
    )
    runtime: ServiceRuntime[UnitOfWork] = ServiceRuntime(settings, UnitOfWork)
    app = create_service_app(runtime, title="kit", description="kit", routers=[router])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
            yield c, runtime


def _auth(runtime: ServiceRuntime[Any], subject: str = "channel-1") -> dict[str, str]:
    token = runtime.tokens.issue(subject, [Role.SERVICE])
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": unique("k")}


async def test_unauthenticated_request_is_401_before_the_body_is_parsed(
    app_client: tuple[httpx.AsyncClient, ServiceRuntime[Any]],
) -> None:
    c, _ = app_client
    r = await c.post(
        "/deposits", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    bad = await c.post("/deposits", content=b"{", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_request_body_over_the_limit_is_413_problem_json(
    app_client: tuple[httpx.AsyncClient, ServiceRuntime[Any]],
) -> None:
    c, runtime = app_client
    big = {"amount_minor": 1, "note": "x" * 5_000}
    r = await c.post("/deposits", json=big, headers=_auth(runtime))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"amount_minor": 1, "note": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    streamed = await c.post("/deposits", content=chunks(), headers=_auth(runtime))
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("amount", [True, 1.0, "100"], ids=["true", "float", "string"])
async def test_money_that_is_not_a_json_integer_is_refused(
    app_client: tuple[httpx.AsyncClient, ServiceRuntime[Any]], amount: object
) -> None:
    c, runtime = app_client
    r = await c.post("/deposits", json={"amount_minor": amount}, headers=_auth(runtime))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "amount_minor"]


@pytest.mark.parametrize(
    "note",
    ["line\nbreak", "nul\x00", "esc\x1b[31m", "c1\x85", "rtl\u202eoverride", "iso\u2066late"],
)
async def test_control_and_bidi_characters_are_refused_in_free_text(
    app_client: tuple[httpx.AsyncClient, ServiceRuntime[Any]], note: str
) -> None:
    c, runtime = app_client
    r = await c.post("/deposits", json={"amount_minor": 1, "note": note}, headers=_auth(runtime))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "note"]
    fine = await c.post(
        "/deposits", json={"amount_minor": 1, "note": "退订 café 1,000"}, headers=_auth(runtime)
    )
    assert fine.status_code == 201, fine.text


async def test_idempotency_keys_are_scoped_to_the_caller(
    app_client: tuple[httpx.AsyncClient, ServiceRuntime[Any]],
) -> None:
    c, runtime = app_client
    key = unique("shared-key")
    first = await c.post(
        "/deposits",
        json={"amount_minor": 100},
        headers={**_auth(runtime, "channel-a"), "Idempotency-Key": key},
    )
    second = await c.post(
        "/deposits",
        json={"amount_minor": 100},
        headers={**_auth(runtime, "channel-b"), "Idempotency-Key": key},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["by"] == "channel-a" and second.json()["by"] == "channel-b"
    assert "Idempotent-Replayed" not in second.headers
    again = await c.post(
        "/deposits",
        json={"amount_minor": 100},
        headers={**_auth(runtime, "channel-a"), "Idempotency-Key": key},
    )
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["by"] == "channel-a"
