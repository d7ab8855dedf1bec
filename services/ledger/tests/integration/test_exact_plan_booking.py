"""``restructure.plan.accepted.v2``: the ledger books exactly the restructure service's
quote (computed with the same kit schedule math), and refuses one that does not conserve
the outstanding principal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lendkit.events import new_event
from lendkit.schedules import ScheduledInstalment, ScheduleType
from lendkit.testing import eventually, unique
from restructure.domain.plans import rate_reduction, term_extension
from restructure.domain.position import LoanPosition, LoanTerms
from restructure.service_layer.messages import plan_accepted

from .conftest import Ledger
from .test_waivers import _dead_letter_reason

AS_OF = date(2026, 3, 20)


def _position(loan_id: str) -> LoanPosition:
    # 3,000.00 CNY, 12 %, 3 months, equal principal, disbursed 2026-01-10; seq 1 paid.
    return LoanPosition(
        loan_id=loan_id,
        as_of=AS_OF,
        terms=LoanTerms("CNY", Decimal("0.12"), ScheduleType.EQUAL_PRINCIPAL),
        unpaid=(
            ScheduledInstalment(2, date(2026, 3, 10), 100_000, 2_000),
            ScheduledInstalment(3, date(2026, 4, 10), 100_000, 1_000),
        ),
        dpd=10,
    )


async def _schedule(ledger: Ledger, loan_id: str) -> dict[str, object]:
    r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
    body: dict[str, object] = r.json()
    return body


async def test_the_booked_schedule_is_the_quote(ledger: Ledger) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product)
    assert (await ledger.pay(loan_id, 103_000, date(2026, 2, 10))).status_code == 201
    position = _position(loan_id)
    quote = term_extension(position, 2)
    assert [(i.seq, i.principal, i.interest) for i in quote.instalments] == [
        (4, 66_666, 2_000),
        (5, 66_666, 1_333),
        (6, 66_668, 667),
    ]
    plan = plan_accepted(unique("plan"), quote, position, AS_OF)
    await ledger.publish(new_event(plan, source="restructure"))

    async def rewritten() -> bool:
        return (await _schedule(ledger, loan_id))["schedule_version"] == 2

    await eventually(rewritten, timeout=30)
    body = await _schedule(ledger, loan_id)
    booked = [
        (i["seq"], i["due_date"], i["principal_minor"], i["interest_minor"])
        for i in body["schedule"]  # type: ignore[attr-defined]
        if i["seq"] >= 4
    ]
    assert booked == [
        (i.seq, i.due_date.isoformat(), i.principal, i.interest) for i in quote.instalments
    ]
    reconciliation = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert reconciliation["ok"] is True


async def test_a_plan_quoted_on_another_balance_is_refused(ledger: Ledger) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product)  # nothing paid: 300,000 outstanding, not 200,000
    position = _position(loan_id)
    plan = plan_accepted(unique("plan"), rate_reduction(position, Decimal(0)), position, AS_OF)
    event = new_event(plan, source="restructure")
    await ledger.publish(event)

    reason = await _dead_letter_reason(ledger, event)
    assert "does not conserve the balance" in reason and "the ledger has 300000" in reason
    body = await _schedule(ledger, loan_id)
    assert body["schedule_version"] == 1
