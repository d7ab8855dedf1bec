"""The ledger's REST contract: the OpenAPI document describes what the service really does.

- The documented response models validate real responses (and, for the hot loan detail,
  dump back to the very same JSON).
- Every route documents its errors as application/problem+json, every POST that moves money
  or state documents the Idempotency-Key header.
- Schemathesis, property-based, against the in-process app's OpenAPI (a private database, no
  Kafka publishing): no 5xx, statuses, content types and bodies as documented, every error
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

from ledger.bootstrap import create_app
from ledger.entrypoints.schemas import (
    CloseOfBusinessOut,
    Journal,
    LoanDetail,
    LoanPage,
    Owed,
    PaymentList,
    PaymentOut,
    Reconciliation,
    ReversalOut,
    Statement,
)
from ledger.settings import Settings
from lendkit.auth import Role
from lendkit.contracts.ledger import LoanDisbursed
from lendkit.migrations import upgrade
from lendkit.openapi import ProblemDetails
from lendkit.problems import PROBLEM_JSON
from lendkit.testing import fresh_database, unique
from lendkit.testing.openapi_contract import SCHEMATHESIS, exercise_operation, tagged_operations

from .conftest import Ledger


@pytest.fixture(scope="module")
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    return clock_ledger


pytestmark = pytest.mark.integration

MONEY_OR_STATE_POSTS = {
    "/loans",
    "/loans/{loan_id}/payments",
    "/loans/{loan_id}/payments/{payment_id}/reversal",
}


# The documented models validate real responses ---------------------------------------------


async def test_documented_models_validate_real_responses(ledger: Ledger) -> None:
    c, ops = ledger.client, ledger.auth()
    product = await ledger.product()
    borrower = unique("B")
    r = await c.post(
        "/loans",
        json={
            "loan_id": unique("L"),
            "borrower_id": borrower,
            "product_code": product,
            "principal_minor": 300_000,
            "disbursed_on": "2026-01-10",
        },
        headers={**ops, "Idempotency-Key": unique("k")},
    )
    assert r.status_code == 201, r.text
    loan_id = LoanDisbursed.model_validate(r.json()).loan_id

    paid = await ledger.pay(loan_id, 120_000, date(2026, 2, 10))
    assert paid.status_code == 201, paid.text
    payment = PaymentOut.model_validate(paid.json())
    await ledger.pay(loan_id, 10_000, date(2026, 2, 11))

    detail = await c.get(f"/loans/{loan_id}", headers=ops)
    assert detail.status_code == 200
    # The prebuilt bytes are exactly what the documented model describes, field for field.
    assert LoanDetail.model_validate(detail.json()).model_dump(mode="json") == detail.json()
    mine = await c.get(f"/loans/{loan_id}", headers=ledger.auth(Role.BORROWER, borrower))
    assert LoanDetail.model_validate(mine.json()).loan_id == loan_id

    page = LoanPage.model_validate(
        (await c.get("/loans", params={"borrower_id": borrower}, headers=ops)).json()
    )
    assert [i.loan_id for i in page.items] == [loan_id] and page.next_cursor is None
    await ledger.loan(product, borrower_id=borrower)
    first = LoanPage.model_validate(
        (await c.get("/loans", params={"borrower_id": borrower, "limit": 1}, headers=ops)).json()
    )
    assert len(first.items) == 1 and first.next_cursor is not None

    owed = await c.get(f"/loans/{loan_id}/owed", params={"as_of": "2026-03-20"}, headers=ops)
    assert Owed.model_validate(owed.json()).instalments
    payments = PaymentList.model_validate(
        (await c.get(f"/loans/{loan_id}/payments", headers=ops)).json()
    )
    assert payments.items[0].payment_id == payment.payment_id

    reversal = await c.post(
        f"/loans/{loan_id}/payments/{payment.payment_id}/reversal",
        json={"reason": "chargeback", "business_date": "2026-02-20"},
        headers={**ops, "Idempotency-Key": unique("k")},
    )
    assert reversal.status_code == 200, reversal.text
    assert ReversalOut.model_validate(reversal.json()).reversed

    statement = await c.get(
        f"/loans/{loan_id}/statement",
        params={"from": "2026-02-01", "to": "2026-02-28"},
        headers=ops,
    )
    assert Statement.model_validate(statement.json()).movements
    journal = await c.get(f"/loans/{loan_id}/journal", headers=ops)
    assert Journal.model_validate(journal.json()).items
    reconciliation = await c.get("/reconciliation", headers=ops)
    Reconciliation.model_validate(reconciliation.json())
    cob = await c.post(
        "/close-of-business",
        json={"business_date": "2031-01-01"},
        headers={**ledger.auth(), "Idempotency-Key": "contract-cob"},
    )
    assert CloseOfBusinessOut.model_validate(cob.json()).business_date == date(2031, 1, 1)

    # Errors as documented: problem+json.
    for response in (
        await c.get("/loans/nope", headers=ops),
        await c.get("/loans/nope"),
        await c.get("/reconciliation", headers=ledger.auth(Role.BORROWER, borrower)),
        await c.get("/loans?limit=0", headers=ops),
        await c.post(f"/loans/{loan_id}/payments", json={}, headers=ops),
        # NUL characters used to reach PostgreSQL and end in a 500 (found by schemathesis).
        await c.get("/loans/a%00b", headers=ops),
        await c.get("/loans?borrower_id=a%00b", headers=ops),
        await ledger.pay(loan_id, 1, date(2026, 2, 12), reference="a\x00b"),
    ):
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = ProblemDetails.model_validate(response.json())
        assert problem.status == response.status_code in {401, 403, 404, 422}, response.text


async def test_openapi_documents_errors_and_idempotency_keys(ledger: Ledger) -> None:
    document = (await ledger.client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "ledger" in operation.get("tags", [])
    ]
    assert len(operations) == 14  # with GET /business-clock and POST /payments/batch
    for path, method, operation in operations:
        responses = operation["responses"]
        success = next(s for s in responses if s.startswith("2"))
        assert "schema" in responses[success]["content"]["application/json"], (method, path)
        assert "401" in responses and "x-roles" in operation, (method, path)
        for status in [s for s in responses if s.startswith("4")]:
            content = responses[status]["content"]
            assert list(content) == [PROBLEM_JSON], (method, path, status)
            assert content[PROBLEM_JSON]["schema"] == {
                "$ref": "#/components/schemas/ProblemDetails"
            }
        if "{loan_id}" in path:
            assert "404" in responses, (method, path)
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if method == "post" and path in MONEY_OR_STATE_POSTS:
            assert headers["Idempotency-Key"]["required"] is True, path
            assert "400" in responses and "409" in responses, path
    detail = document["paths"]["/loans/{loan_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("/LoanDetail")


# Schemathesis --------------------------------------------------------------------------------

SEEDED_LOAN = "L-CONTRACT"
OPERATIONS = tagged_operations(create_app(Settings()), "ledger")


@pytest.fixture(scope="module")
def contract_database() -> str:
    """A private database: what schemathesis writes stays out of the other tests' way."""

    async def create() -> str:
        url = await fresh_database("ledger_contract_test")
        await asyncio.to_thread(upgrade, "ledger", url)
        return url

    return asyncio.run(create())


@pytest.fixture(scope="module")
def contract_app(contract_database: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app on the private database, publishing nothing (no consumers, no outbox relay),
    run by schemathesis's ASGI client; one seeded loan for the generated requests to find."""
    settings = Settings(
        database_url=contract_database,
        run_consumers=False,
        run_outbox_relay=False,
        consumer_group=unique("ledger-contract"),
    )
    app = create_app(settings)
    tokens = app.state.runtime.tokens
    ops = {"Authorization": f"Bearer {tokens.issue('ops-contract', [Role.OPS])}"}
    admin = {"Authorization": f"Bearer {tokens.issue('admin-contract', [Role.ADMIN])}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SCHEMATHESIS)
    try:
        with asgi.get_client(app) as client:
            product = client.post(
                "/products",
                json={"code": "P-CONTRACT", "currency": "CNY", "annual_rate": "0.12", "term": 3},
                headers={**admin, "Idempotency-Key": "contract-product"},
            )
            assert product.status_code == 201, product.text
            loan = client.post(
                "/loans",
                json={
                    "loan_id": SEEDED_LOAN,
                    "borrower_id": "B-CONTRACT",
                    "product_code": "P-CONTRACT",
                    "principal_minor": 300_000,
                    "disbursed_on": "2026-01-10",
                },
                headers={**ops, "Idempotency-Key": "contract-loan"},
            )
            assert loan.status_code == 201, loan.text
        yield schema, ops
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_ledger_operation_honours_its_openapi(
    contract_app: tuple[Any, dict[str, str]], path: str, method: str
) -> None:
    schema, ops = contract_app
    seeded = []
    if "{loan_id}" in path:
        operation = schema[path][method.upper()]
        seeded.append(operation.as_strategy(path_parameters={"loan_id": SEEDED_LOAN}))
    exercise_operation(schema, path, method, ops, seeded)
