"""Close of business: reminders T-3 / T-1, due events, interest recognised, once per date."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import text

from lendkit.testing import read_events, unique

UPCOMING = "ledger.repayment.upcoming.v1"
DUE = "ledger.repayment.due.v1"

if TYPE_CHECKING:
    from conftest import Ledger


async def _close(ledger: Ledger, day: str) -> dict[str, object]:
    r = await ledger.client.post(
        "/close-of-business",
        json={"business_date": day},
        headers={**ledger.auth(), "Idempotency-Key": unique("cob")},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_close_of_business_twice_for_a_date_publishes_once(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product(), disbursed_on=date(2031, 1, 10))

    first = await _close(ledger, "2031-02-07")  # instalment 1 falls due 2031-02-10: T-3
    second = await _close(ledger, "2031-02-07")

    assert first["already_closed"] is False and first["upcoming"] >= 1
    assert second["already_closed"] is True
    events = await read_events(
        ["ledger.loans"], count=2, keys=[loan_id], types=[UPCOMING], timeout=6
    )
    assert len(events) == 1
    assert b'"days_before":3' in events[0].data.replace(b" ", b"")
    async with ledger.runtime.engine.connect() as conn:
        markers = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE event_type = 'ledger.business_day.closed.v1' "
                "AND convert_from(payload, 'UTF8')::jsonb->>'business_date' = '2031-02-07'"
            )
        )
        partitions = await conn.scalar(
            text(
                "SELECT count(DISTINCT partition) FROM outbox "
                "WHERE event_type = 'ledger.business_day.closed.v1'"
            )
        )
    assert markers == 6 and partitions == 6


async def test_due_date_publishes_repayment_due_and_recognises_interest(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product(), disbursed_on=date(2031, 5, 10))
    await ledger.pay(loan_id, 1_000, date(2031, 6, 1))  # pays 10.00 of #1's 30.00 interest

    await _close(ledger, "2031-06-09")  # T-1
    result = await _close(ledger, "2031-06-10")  # due date

    assert result["due"] >= 1
    due = await read_events(["ledger.loans"], count=1, keys=[loan_id], types=[DUE])
    assert b'"amount_due_minor":102000' in due[0].data.replace(b" ", b"")
    upcoming = await read_events(["ledger.loans"], count=1, keys=[loan_id], types=[UPCOMING])
    assert b'"days_before":1' in upcoming[0].data.replace(b" ", b"")
    journal = (await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.auth())).json()
    interest = [e for e in journal["items"] if e["memo"] == "interest due"]
    assert len(interest) == 1
    assert interest[0]["lines"][0] == {
        "account": "INTEREST_RECEIVABLE",
        "debit_minor": 3_000,
        "credit_minor": 0,
    }
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon
