"""The overdue service's REST contract: the OpenAPI document describes what it really does.

- The documented response models validate real responses of the worked-example loan.
- Every route documents its errors as application/problem+json, every POST that changes
  state documents the Idempotency-Key header.
- Schemathesis, property-based, against the in-process app's OpenAPI (a private database,
  publishing nothing): no 5xx, statuses, content types and bodies as documented, every error
  problem+json. Bounded and derandomized, so it is fast and repeatable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from schemathesis.python import asgi

from lendkit.migrations import upgrade
from lendkit.openapi import ProblemDetails
from lendkit.problems import PROBLEM_JSON
from lendkit.testing import fresh_database, unique
from lendkit.testing.openapi_contract import SCHEMATHESIS, exercise_operation, tagged_operations
from overdue.bootstrap import create_app
from overdue.entrypoints.schemas import (
    CureRate,
    ExplanationOut,
    OverdueLoanPage,
    PauseOut,
    PortfolioSummary,
    RollRates,
    WaiverOut,
)
from overdue.settings import Settings

from .conftest import World, open_worked_example_loan

pytestmark = pytest.mark.integration

STATE_POSTS = {
    "/loans/{loan_id}/pause",
    "/loans/{loan_id}/resume",
    "/loans/{loan_id}/penalty-waivers",
}


async def test_documented_models_validate_real_responses(world: World) -> None:
    loan_id, borrower_id, _ = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 16), date(2026, 3, 25))
    async with world.client(roles=["ops"]) as ops:
        explanation = await ops.get(f"/loans/{loan_id}/explanation", params={"locale": "en"})
        assert ExplanationOut.model_validate(explanation.json()).penalty_days
        page = OverdueLoanPage.model_validate((await ops.get("/overdue-loans?limit=1")).json())
        assert [i.loan_id for i in page.items] == [loan_id]
        if page.next_cursor is not None:  # a cursor is given only when another page follows
            after = await ops.get("/overdue-loans", params={"limit": 1, "cursor": page.next_cursor})
            assert OverdueLoanPage.model_validate(after.json()).items
        assert PortfolioSummary.model_validate((await ops.get("/portfolio/summary")).json())
        period = {"from": "2026-03-16", "to": "2026-03-25"}
        assert RollRates.model_validate(
            (await ops.get("/portfolio/roll-rates", params=period)).json()
        )
        assert CureRate.model_validate(
            (await ops.get("/portfolio/cure-rate", params=period)).json()
        )
        waiver = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 1, "reason": "goodwill"},
            headers={"Idempotency-Key": unique("k")},
        )
        assert waiver.status_code == 201, waiver.text
        assert WaiverOut.model_validate(waiver.json()).amount_minor == 1
        for action in ("pause", "resume"):
            r = await ops.post(
                f"/loans/{loan_id}/{action}",
                json={"reason": "plan negotiated"},
                headers={"Idempotency-Key": unique("k")},
            )
            assert PauseOut.model_validate(r.json()).changed
        errors = [
            await ops.get("/loans/nope/explanation"),
            await ops.get("/overdue-loans?cursor=%21"),
            await ops.post(f"/loans/{loan_id}/pause", json={"reason": "x"}),
            await ops.get(
                "/portfolio/roll-rates", params={"from": "2026-03-25", "to": "2026-03-01"}
            ),
        ]
    async with world.client(roles=["borrower"], borrower_id=borrower_id) as mine:
        errors.append(await mine.get("/overdue-loans"))
        assert (
            ExplanationOut.model_validate(
                (await mine.get(f"/loans/{loan_id}/explanation")).json()
            ).loan_id
            == loan_id
        )
    for response in errors:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert ProblemDetails.model_validate(response.json()).status == response.status_code


async def test_openapi_documents_errors_and_idempotency_keys(world: World) -> None:
    async with world.client(roles=["ops"]) as client:
        document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "overdue" in operation.get("tags", [])
    ]
    assert (
        len(operations) == 11
    )  # with GET /blocked-loans, /business-clock, /products/{code}/policy
    for path, method, operation in operations:
        responses = operation["responses"]
        success = next(s for s in responses if s.startswith("2"))
        assert "schema" in responses[success]["content"]["application/json"], (method, path)
        assert "401" in responses and "x-roles" in operation, (method, path)
        for status in [s for s in responses if s.startswith("4")]:
            assert list(responses[status]["content"]) == [PROBLEM_JSON], (method, path, status)
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post":
            assert path in STATE_POSTS
            assert headers["Idempotency-Key"]["required"] is True, path
            assert "400" in responses and "404" in responses, path


# Schemathesis --------------------------------------------------------------------------------

OPERATIONS = tagged_operations(create_app(Settings()), "overdue")


@pytest.fixture(scope="module")
def contract_app() -> Iterator[tuple[Any, dict[str, str]]]:
    """The app on a private database, publishing nothing, run by schemathesis's ASGI client."""

    async def create() -> str:
        url = await fresh_database("overdue_contract_test")
        await asyncio.to_thread(upgrade, "overdue", url)
        return url

    settings = Settings(
        database_url=asyncio.run(create()), run_consumers=False, run_outbox_relay=False
    )
    app = create_app(settings)
    token = app.state.runtime.tokens.issue("ops-contract", ["ops"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SCHEMATHESIS)
    try:
        yield schema, {"Authorization": f"Bearer {token}"}
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_overdue_operation_honours_its_openapi(
    contract_app: tuple[Any, dict[str, str]], path: str, method: str
) -> None:
    schema, ops = contract_app
    exercise_operation(schema, path, method, ops)
