"""Penalty waivers are exact: a waiver reduces charges dated on or before it, whole or not
at all; one that cannot apply is dead-lettered with the reason, and nothing is journalled."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING

from .conftest import penalty_assessed

if TYPE_CHECKING:
    from conftest import Ledger

from aiokafka import AIOKafkaConsumer

from lendkit.contracts.overdue import PenaltyWaived
from lendkit.dead_letters import H_REASON, dead_letter_topic, header_value
from lendkit.events import CloudEvent, new_event
from lendkit.testing import KAFKA, eventually, unique


async def _penalty(ledger: Ledger, loan_id: str) -> int:
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    return int(detail["balances"]["penalty_minor"])


def _waived(loan_id: str, seq: int, on: date, amount: int) -> CloudEvent:
    return new_event(
        PenaltyWaived(
            loan_id=loan_id,
            seq=seq,
            business_date=on,
            amount_minor=amount,
            currency="CNY",
            reason="goodwill",
            waived_by="ops-1",
        ),
        source="overdue",
    )


async def _dead_letter_reason(ledger: Ledger, event: CloudEvent, timeout: float = 30) -> str:
    """The ``dlt_reason`` of ``event`` on the ledger consumers' dead-letter topic."""
    consumer = AIOKafkaConsumer(
        dead_letter_topic(ledger.runtime.settings.group_id),
        bootstrap_servers=KAFKA,
        group_id=unique("dlt-reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    headers = list(r.headers)
                    if header_value(headers, "ce_id") == event.id:
                        return header_value(headers, H_REASON) or ""
    finally:
        await consumer.stop()
    raise AssertionError(f"{event.id} was not dead-lettered")


async def test_waiver_dated_before_the_charge_it_reduces_is_refused_not_journalled(
    ledger: Ledger,
) -> None:
    """50 booked on instalment 1 for 2026-02-16; a waiver of 20 dated 2026-02-15 (before
    any charge) cannot reduce it: dead-lettered with the reason, penalty still 50, and the
    journal still reconciles. A waiver of 20 dated 2026-02-16 (the charge's date) nets:
    penalty 30."""
    loan_id = await ledger.loan(await ledger.product())
    await ledger.publish(penalty_assessed(loan_id, 1, date(2026, 2, 16), 50))

    async def booked() -> bool:
        return await _penalty(ledger, loan_id) == 50

    await eventually(booked, timeout=30)
    early = _waived(loan_id, 1, date(2026, 2, 15), 20)
    await ledger.publish(early)
    reason = await _dead_letter_reason(ledger, early)
    assert "only 0 is charged on or before" in reason, reason
    on_time = _waived(loan_id, 1, date(2026, 2, 16), 20)
    await ledger.publish(on_time)

    async def netted() -> bool:
        return await _penalty(ledger, loan_id) == 30

    await eventually(netted, timeout=30)
    journal = (await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())).json()
    assert [e["memo"] for e in journal["items"]].count("penalty waived") == 1
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def test_waiver_beyond_the_instalments_charges_is_refused_not_capped(
    ledger: Ledger,
) -> None:
    """30 on instalment 1, 40 on instalment 2; a waiver of 50 on instalment 1 is refused
    whole (dead letter: only 30 can be waived there), not booked as 30."""
    loan_id = await ledger.loan(await ledger.product())
    await ledger.publish(penalty_assessed(loan_id, 1, date(2026, 3, 11), 30))
    await ledger.publish(penalty_assessed(loan_id, 2, date(2026, 3, 11), 40))

    async def booked() -> bool:
        return await _penalty(ledger, loan_id) == 70

    await eventually(booked, timeout=30)
    too_much = _waived(loan_id, 1, date(2026, 3, 12), 50)
    await ledger.publish(too_much)
    reason = await _dead_letter_reason(ledger, too_much)
    assert "only 30 is charged" in reason, reason
    assert await _penalty(ledger, loan_id) == 70
