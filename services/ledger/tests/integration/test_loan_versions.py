"""Every balance-carrying event of a loan carries a loan_version that increases in the
order the events are published, on the one-by-one paths and the batch penalty booking."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import text

from ledger.service_layer.handlers import book_penalties

from .conftest import penalty_assessed

if TYPE_CHECKING:
    from conftest import Ledger

VERSIONED = (
    "ledger.loan.disbursed.v1",
    "ledger.payment.allocated.v1",
    "ledger.payment.reversed.v1",
    "ledger.charge.booked.v1",
)


async def _versions(ledger: Ledger, loan_id: str) -> list[tuple[str, int | None]]:
    async with ledger.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT event_type, payload FROM outbox WHERE message_key = :l "
                "AND event_type = ANY(:types) ORDER BY id"
            ),
            {"l": loan_id, "types": list(VERSIONED)},
        )
        return [(t, json.loads(bytes(p)).get("loan_version")) for t, p in rows]


async def test_loan_version_increases_with_every_balance_event_in_publication_order(
    ledger: Ledger,
) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product)
    # the batch penalty booking's set-based path: two charges in one batch
    async with ledger.runtime.uow() as uow:
        await book_penalties(
            uow,
            [
                penalty_assessed(loan_id, 1, date(2026, 2, 11), 50),
                penalty_assessed(loan_id, 1, date(2026, 2, 12), 7),
            ],
        )
        await uow.commit()
    first = await ledger.pay(loan_id, 30_000, date(2026, 2, 13))
    assert first.status_code == 201, first.text
    back_dated = await ledger.pay(loan_id, 10_000, date(2026, 2, 11))  # re-allocates the first
    assert back_dated.status_code == 201, back_dated.text
    payment_id = back_dated.json()["payment_id"]
    reversed_ = await ledger.client.post(
        f"/loans/{loan_id}/payments/{payment_id}/reversal",
        json={"reason": "chargeback"},
        headers={**ledger.auth(), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert reversed_.status_code in (200, 201), reversed_.text

    found = await _versions(ledger, loan_id)
    types = [t for t, _ in found]
    assert types[0] == "ledger.loan.disbursed.v1"
    assert types.count("ledger.charge.booked.v1") == 2
    assert "ledger.payment.reversed.v1" in types
    versions = [v for _, v in found]
    assert all(isinstance(v, int) for v in versions), found
    assert versions == sorted(versions) and len(set(versions)) == len(versions), found
