"""Penalties from the overdue service: booked exactly once per source event; waivers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger


from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.events import new_event
from lendkit.testing import eventually


async def _penalty(ledger: Ledger, loan_id: str) -> int:
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    return int(detail["balances"]["penalty_minor"])


async def test_penalty_event_consumed_twice_is_booked_once(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    assessed = PenaltyAssessed(
        loan_id=loan_id,
        seq=1,
        business_date=date(2026, 2, 15),
        base_minor=100_000,
        daily_rate="0.0005",
        amount_minor=50,
        currency="CNY",
    )
    event = new_event(assessed, source="overdue", event_id=str(uuid.uuid4()))
    await ledger.publish(event)
    await ledger.publish(event)  # redelivered
    later = new_event(
        assessed.model_copy(update={"business_date": date(2026, 2, 16), "amount_minor": 7}),
        source="overdue",
    )
    await ledger.publish(later)  # same partition, after the duplicate

    async def both_booked() -> bool:
        return await _penalty(ledger, loan_id) == 57

    await eventually(both_booked, timeout=30)
    journal = (await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())).json()
    assert [e["memo"] for e in journal["items"]].count("penalty booked") == 2

    waived = PenaltyWaived(
        loan_id=loan_id,
        seq=1,
        business_date=date(2026, 2, 17),
        amount_minor=20,
        currency="CNY",
        reason="hardship",
        waived_by="ops-1",
    )
    await ledger.publish(new_event(waived, source="overdue"))

    async def waived_off() -> bool:
        return await _penalty(ledger, loan_id) == 37

    await eventually(waived_off, timeout=30)
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon
