"""Penalties booked in a batch (the consumer's batch mode): set-based where that equals a
replay, one by one otherwise; the same positions, events and books as one at a time."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
from sqlalchemy import text

from ledger.domain.clock import LedgerClock
from ledger.service_layer.commands import record_payment
from ledger.service_layer.handlers import book_penalties
from lendkit.contracts.ledger import ChargeBooked
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.events import CloudEvent, new_event
from lendkit.testing import blocks_another_session, eventually

if TYPE_CHECKING:
    from conftest import Ledger

SCHEMA = (
    Path(__file__).resolve().parents[4]
    / "docs"
    / "events"
    / "schemas"
    / "ledger.charge.booked.v1.json"
)


def _penalty(loan_id: str, seq: int, day: date, amount: int) -> CloudEvent:
    payload = PenaltyAssessed(
        loan_id=loan_id,
        seq=seq,
        business_date=day,
        base_minor=100_000,
        daily_rate="0.0005",
        amount_minor=amount,
        currency="CNY",
    )
    return new_event(payload, source="overdue", event_id=str(uuid.uuid4()))


async def _positions(ledger: Ledger, loan_id: str) -> list[tuple[int, int, int, int, int]]:
    async with ledger.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT i.seq, i.outstanding_principal, i.outstanding_interest,
                       i.outstanding_penalty, i.outstanding_fee
                FROM instalments i JOIN loans l
                  ON l.loan_id = i.loan_id AND l.schedule_version = i.version
                WHERE i.loan_id = :loan ORDER BY i.seq
                """
            ),
            {"loan": loan_id},
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _charge_booked(ledger: Ledger, loan_ids: list[str]) -> list[ChargeBooked]:
    async with ledger.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT payload, headers FROM outbox
                WHERE event_type = 'ledger.charge.booked.v1' AND message_key = ANY(:keys)
                ORDER BY id
                """
            ),
            {"keys": loan_ids},
        )
        found = []
        schema = json.loads(SCHEMA.read_text())
        for payload, headers in rows:
            jsonschema.validate(json.loads(payload), schema, cls=jsonschema.Draft202012Validator)
            assert {h[0] for h in headers} >= {"ce_id", "ce_type", "ce_source", "ce_time"}
            found.append(ChargeBooked.model_validate_json(payload))
        return found


async def _book(ledger: Ledger, events: list[CloudEvent]) -> None:
    async with ledger.runtime.uow() as uow:
        await book_penalties(uow, events)
        await uow.commit()


async def test_a_batch_books_like_one_at_a_time_and_the_books_reconcile(ledger: Ledger) -> None:
    product = await ledger.product()
    plain = [await ledger.loan(product) for _ in range(2)]  # set-based path
    paid = [await ledger.loan(product) for _ in range(2)]  # payment after the charge: replay
    for loan_id in paid:
        r = await ledger.pay(loan_id, 100, date(2026, 2, 20))
        assert r.status_code == 201, r.text
    d1, d2 = date(2026, 2, 15), date(2026, 2, 16)

    def penalties(loan_id: str) -> list[CloudEvent]:
        return [
            _penalty(loan_id, 1, d1, 50),
            _penalty(loan_id, 2, d1, 11),
            _penalty(loan_id, 1, d2, 7),
        ]

    # loans [0] of each kind: one batch; loans [1]: the same events one at a time
    batch = [e for loan_id in (plain[0], paid[0]) for e in penalties(loan_id)]
    await _book(ledger, batch)
    await _book(ledger, batch)  # redelivered as a whole: charges are unique per source event
    for loan_id in (plain[1], paid[1]):
        for event in penalties(loan_id):
            await _book(ledger, [event])

    for batched, single in ((plain[0], plain[1]), (paid[0], paid[1])):
        assert await _positions(ledger, batched) == await _positions(ledger, single)
        b_events, s_events = (
            await _charge_booked(ledger, [batched]),
            await _charge_booked(ledger, [single]),
        )
        assert len(b_events) == len(s_events) == 3
        for b, s in zip(b_events, s_events, strict=True):
            assert (b.seq, b.amount_minor, b.business_date) == (
                s.seq,
                s.amount_minor,
                s.business_date,
            )
            assert [x.model_dump() for x in b.balances] == [x.model_dump() for x in s.balances]
    positions = await _positions(ledger, plain[0])
    assert [p[3] for p in positions][:2] == [57, 11]
    booked = await _charge_booked(ledger, [plain[0]])
    assert [next(x.penalty_minor for x in e.balances if x.seq == 1) for e in booked] == [50, 50, 57]

    journal = (await ledger.client.get(f"/loans/{plain[0]}/journal", headers=ledger.auth())).json()
    assert [e["memo"] for e in journal["items"]].count("penalty booked") == 3
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon["mismatches"][:5]


async def test_a_batch_that_waited_for_a_payment_books_on_the_paid_position(
    ledger: Ledger,
) -> None:
    """A second session plays the payment API: it locks the loan and records a payment, and a
    penalty batch for the same loan waits for that lock. When the payment commits, the batch
    must decide its path, and report the balances, on the paid position.

    Worked example: 300,000 at 12 % over 3 months, equal principal: instalment 1 due
    2026-02-10 owes principal 100,000 and interest 3,000. A payment of 103,000 valued
    2026-02-15 and a penalty of 50 on instalment 1 dated 2026-02-15: the charge is booked on
    or before the value date, so the replay pays it first (50), then interest 3,000, then
    principal 99,950, leaving principal 50 on instalment 1. Read stale (no payment seen), the
    batch appended the charge (principal 0, penalty 50 left) and its ``ChargeBooked`` said
    instalment 1 still owed 100,000 + 3,000 + 50.
    """
    loan_id = await ledger.loan(await ledger.product())
    assert (await _positions(ledger, loan_id))[0] == (1, 100_000, 3_000, 0, 0)
    day = date(2026, 2, 15)
    async with ledger.runtime.uow() as payer:
        await record_payment(
            payer,
            loan_id=loan_id,
            reference=uuid.uuid4().hex,
            amount=103_000,
            value_date=day,
            clock=LedgerClock.from_settings(ledger.runtime.settings),
        )
        batch = asyncio.create_task(_book(ledger, [_penalty(loan_id, 1, day, 50)]))
        await eventually(lambda: blocks_another_session(payer.session))
        await payer.commit()
    await batch

    positions = await _positions(ledger, loan_id)
    assert positions[0] == (1, 50, 0, 0, 0)
    (booked,) = await _charge_booked(ledger, [loan_id])
    assert [
        (b.seq, b.principal_minor, b.interest_minor, b.penalty_minor, b.fee_minor)
        for b in booked.balances
    ] == [p for p in positions if sum(p[1:]) > 0]
