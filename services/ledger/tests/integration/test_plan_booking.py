"""``restructure.plan.accepted.v2`` against the real PostgreSQL and Kafka: the ledger books
the restructure quote exactly (rate reduction to 0 %, also on a 0 % loan; re-age after
maturity, arrears capitalised), the journal reconciles, and a discounted settlement paid
in time writes off the remainder and closes the loan, while one paid late lapses and
changes nothing. Each test has a ledger (and business clock) of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import text

from lendkit.contracts.restructure import PlanCancelled
from lendkit.events import CloudEvent, new_event
from lendkit.migrations import upgrade
from lendkit.schedules import ScheduledInstalment, ScheduleType
from lendkit.testing import eventually, fresh_database, read_events, unique
from restructure.domain.plans import (
    Quote,
    discounted_settlement,
    penalty_waiver,
    rate_reduction,
    term_extension,
)
from restructure.domain.position import LoanPosition, LoanTerms
from restructure.service_layer.messages import plan_accepted

from .conftest import Ledger, penalty_assessed, running_ledger

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[4] / "docs" / "events" / "schemas"


@pytest.fixture
async def own_ledger() -> AsyncIterator[Ledger]:
    """A ledger on a database of its own: each test runs its business clock from scratch."""
    url = await fresh_database(unique("ledger_plans").replace("-", "_"))
    await asyncio.to_thread(upgrade, "ledger", url)
    async with running_ledger(url) as running:
        yield running


def _validate(event: CloudEvent) -> None:
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text())
    jsonschema.validate(json.loads(event.data), schema, cls=jsonschema.Draft202012Validator)


async def _detail(ledger: Ledger, loan_id: str) -> dict[str, Any]:
    r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _position(
    ledger: Ledger, loan_id: str, as_of: date, rate: str, schedule_type: ScheduleType
) -> LoanPosition:
    """The loan as the restructure service's read model has it (unpaid parts)."""
    body = await _detail(ledger, loan_id)
    items = body["schedule"]
    return LoanPosition(
        loan_id=loan_id,
        as_of=as_of,
        terms=LoanTerms("CNY", Decimal(rate), schedule_type),
        unpaid=tuple(
            ScheduledInstalment(
                i["seq"],
                date.fromisoformat(i["due_date"]),
                i["outstanding"]["principal_minor"],
                i["outstanding"]["interest_minor"],
            )
            for i in items
            if i["outstanding"]["principal_minor"] or i["outstanding"]["interest_minor"]
        ),
        penalty=sum(i["outstanding"]["penalty_minor"] for i in items),
        fee=sum(i["outstanding"]["fee_minor"] for i in items),
    )


async def _book(ledger: Ledger, quote: Quote, pos: LoanPosition) -> CloudEvent:
    """Publish the accepted plan; the ledger's ``ledger.plan.booked`` for it."""
    plan_id = unique("plan")
    await ledger.publish(new_event(plan_accepted(plan_id, quote, pos, pos.as_of), source="rs"))
    (booked,) = await read_events(
        ["ledger.loans"],
        count=1,
        timeout=30,
        keys=[quote.loan_id],
        types=["ledger.plan.booked.v1"],
    )
    _validate(booked)
    assert json.loads(booked.data)["plan_id"] == plan_id
    return booked


async def _reconciles(ledger: Ledger) -> None:
    r = await ledger.client.get("/reconciliation", headers=ledger.auth())
    assert r.json()["ok"] is True, r.text


def _booked_schedule(body: dict[str, Any], first: int) -> list[tuple[int, str, int, int]]:
    return [
        (i["seq"], i["due_date"], i["principal_minor"], i["interest_minor"])
        for i in body["schedule"]
        if i["seq"] >= first
    ]


def _quoted(quote: Quote) -> list[tuple[int, str, int, int]]:
    return [(i.seq, i.due_date.isoformat(), i.principal, i.interest) for i in quote.instalments]


async def _overdue_loan(ledger: Ledger, product: str, *, penalty: int) -> str:
    """Disbursed 2026-01-10, monthly; seq 1 paid on 2026-02-11, seq 2 (due 2026-03-10)
    overdue on 2026-03-16 with ``penalty`` booked on it."""
    loan_id = await ledger.loan(product)
    await ledger.close_day("2026-02-10")
    first = (await _detail(ledger, loan_id))["schedule"][0]
    paid = first["principal_minor"] + first["interest_minor"]
    assert (await ledger.pay(loan_id, paid, date(2026, 2, 11))).status_code == 201
    await ledger.close_day("2026-03-15")
    if penalty:
        await ledger.publish(penalty_assessed(loan_id, 2, date(2026, 3, 14), penalty))

        async def booked() -> bool:
            return bool((await _detail(ledger, loan_id))["balances"]["penalty_minor"] == penalty)

        await eventually(booked, timeout=30)
    return loan_id


AS_OF = date(2026, 3, 16)


async def test_rate_reduction_to_zero_is_booked_as_quoted_also_on_a_zero_rate_loan(
    own_ledger: Ledger,
) -> None:
    ledger = own_ledger
    annuity = await ledger.product(annual_rate="0.18", term=6, schedule_type="ANNUITY")
    free = await ledger.product(annual_rate="0", term=4, schedule_type="EQUAL_PRINCIPAL")
    free_id = await ledger.loan(free)  # nothing paid: seq 1 and 2 overdue, no interest
    loan_id = await _overdue_loan(ledger, annuity, penalty=700)

    pos = await _position(ledger, loan_id, AS_OF, "0.18", ScheduleType.ANNUITY)
    quote = rate_reduction(pos, Decimal(0))
    assert all(i.interest == 0 for i in quote.instalments)
    assert quote.carried["penalty"] == 700 and quote.carried["interest"] > 0
    booked = json.loads((await _book(ledger, quote, pos)).data)
    assert {a["kind"]: a["amount_minor"] for a in booked["carried_to_first"]} == dict(quote.carried)
    body = await _detail(ledger, loan_id)
    assert body["schedule_version"] == 2 and body["annual_rate"] == "0"
    assert _booked_schedule(body, quote.instalments[0].seq) == _quoted(quote)
    head = next(i for i in body["schedule"] if i["seq"] == quote.instalments[0].seq)
    assert head["outstanding"]["interest_minor"] == quote.carried["interest"]
    assert head["outstanding"]["penalty_minor"] == 700

    free_pos = await _position(ledger, free_id, AS_OF, "0", ScheduleType.EQUAL_PRINCIPAL)
    free_quote = rate_reduction(free_pos, Decimal(0))
    await _book(ledger, free_quote, free_pos)
    free_body = await _detail(ledger, free_id)
    assert free_body["schedule_version"] == 2
    assert _booked_schedule(free_body, free_quote.instalments[0].seq) == _quoted(free_quote)
    assert sum(i["interest_minor"] for i in free_body["schedule"]) == 0
    await _reconciles(ledger)


async def test_re_age_after_maturity_capitalises_the_arrears_and_leaves_nothing_past_due(
    own_ledger: Ledger,
) -> None:
    ledger = own_ledger
    product = await ledger.product(annual_rate="0.12", term=3, schedule_type="EQUAL_PRINCIPAL")
    loan_id = await ledger.loan(product)  # due 2026-02-10, 03-10, 04-10: nothing paid
    await ledger.close_day("2026-05-20")  # matured; all interest recognised
    await ledger.publish(penalty_assessed(loan_id, 1, date(2026, 5, 20), 1_500))

    async def charged() -> bool:
        return bool((await _detail(ledger, loan_id))["balances"]["penalty_minor"] == 1_500)

    await eventually(charged, timeout=30)
    as_of = date(2026, 5, 21)
    pos = await _position(ledger, loan_id, as_of, "0.12", ScheduleType.EQUAL_PRINCIPAL)
    assert not pos.remaining and pos.outstanding_principal == 300_000
    quote = term_extension(pos, 3, capitalise_arrears=True)
    assert quote.new_principal == 300_000 + 6_000 + 1_500  # interest 3,000+2,000+1,000
    assert quote.instalments[0].due_date == date(2026, 6, 21)
    booked = json.loads((await _book(ledger, quote, pos)).data)
    assert {a["kind"]: a["amount_minor"] for a in booked["capitalised"]} == {
        "interest": 6_000,
        "penalty": 1_500,
    }
    body = await _detail(ledger, loan_id)
    assert _booked_schedule(body, 4) == _quoted(quote)
    assert body["balances"]["principal_minor"] == 307_500
    # Owed now: the new principal and the new schedule's own interest, nothing else.
    assert body["balances"]["interest_minor"] == quote.total_interest
    assert body["balances"]["penalty_minor"] == 0
    # Re-aged: nothing owed is past due any more.
    assert all(
        date.fromisoformat(i["due_date"]) > as_of
        for i in body["schedule"]
        if sum(i["outstanding"].values())
    )
    await _reconciles(ledger)


async def _settlement(ledger: Ledger) -> tuple[str, Quote]:
    product = await ledger.product(annual_rate="0.12", term=3, schedule_type="EQUAL_PRINCIPAL")
    loan_id = await _overdue_loan(ledger, product, penalty=900)
    pos = await _position(ledger, loan_id, AS_OF, "0.12", ScheduleType.EQUAL_PRINCIPAL)
    # Owed: principal 200,000, seq 2's interest 2,000, penalty 900: settle for 150,000.
    assert pos.total_owed == 202_900
    quote = discounted_settlement(pos, 150_000, AS_OF + timedelta(days=14))
    assert dict(quote.waived) == {"penalty": 900, "interest": 2_000}
    assert quote.written_off_principal == 50_000
    booked = json.loads((await _book(ledger, quote, pos)).data)
    assert booked["settlement_amount_minor"] == 150_000
    assert (await _detail(ledger, loan_id))["schedule_version"] == 1
    return loan_id, quote


async def test_a_settlement_paid_in_time_writes_off_the_remainder_and_closes_the_loan(
    own_ledger: Ledger,
) -> None:
    ledger = own_ledger
    loan_id, quote = await _settlement(ledger)
    assert (await ledger.pay(loan_id, 100_000, AS_OF)).status_code == 201
    assert (await _detail(ledger, loan_id))["status"] == "active"
    await ledger.close_day("2026-03-20")
    assert (await ledger.pay(loan_id, 50_000, date(2026, 3, 21))).status_code == 201
    body = await _detail(ledger, loan_id)
    assert body["status"] == "settled"
    assert all(v == 0 for k, v in body["balances"].items())
    (completed,) = await read_events(
        ["ledger.loans"], count=1, keys=[loan_id], types=["ledger.settlement.completed.v1"]
    )
    _validate(completed)
    done = json.loads(completed.data)
    assert done["paid_minor"] == 150_000 and done["written_off_principal_minor"] == 50_000
    assert {a["kind"]: a["amount_minor"] for a in done["waived"]} == dict(quote.waived)
    await _reconciles(ledger)


async def test_a_settlement_paid_late_lapses_and_nothing_is_written_off(
    own_ledger: Ledger,
) -> None:
    ledger = own_ledger
    loan_id, quote = await _settlement(ledger)
    assert quote.settlement_deadline == date(2026, 3, 30)
    assert (await ledger.pay(loan_id, 100_000, AS_OF)).status_code == 201
    await ledger.close_day("2026-03-30")  # the deadline passes with 50,000 unpaid
    (lapsed,) = await read_events(
        ["ledger.loans"], count=1, keys=[loan_id], types=["ledger.settlement.lapsed.v1"]
    )
    _validate(lapsed)
    assert json.loads(lapsed.data)["paid_minor"] == 100_000
    assert (await ledger.pay(loan_id, 50_000, date(2026, 3, 31))).status_code == 201
    body = await _detail(ledger, loan_id)
    assert body["status"] == "active" and body["schedule_version"] == 1
    # Nothing forgiven: what is owed is the original debt less the 150,000 paid.
    owed = sum(v for k, v in body["balances"].items() if k != "credit_minor")
    assert owed == 202_900 + 1_000 - 150_000  # seq 3's contractual interest 1,000 included
    await _reconciles(ledger)


async def test_a_reversed_settlement_payment_undoes_the_settlement_and_its_write_off(
    own_ledger: Ledger,
) -> None:
    """The payment that completed a settlement bounces: the settlement is void. The
    write-off and the waivers are reinstated, the loan goes back to the terms it had before
    the settlement, owing the original debt less the payments that stand, and the offer is
    not paid again by a later payment."""
    ledger = own_ledger
    loan_id, _ = await _settlement(ledger)
    before = await _detail(ledger, loan_id)
    assert (await ledger.pay(loan_id, 100_000, AS_OF)).status_code == 201
    await ledger.close_day("2026-03-20")
    last = await ledger.pay(loan_id, 50_000, date(2026, 3, 21))
    assert (await _detail(ledger, loan_id))["status"] == "settled"

    r = await ledger.client.post(
        f"/loans/{loan_id}/payments/{last.json()['payment_id']}/reversal",
        json={"reason": "chargeback", "business_date": "2026-03-21"},
        headers={**ledger.auth(), "Idempotency-Key": unique("k")},
    )
    assert r.status_code == 200, r.text
    body = await _detail(ledger, loan_id)
    assert body["status"] == "active"
    # The terms before the settlement, owed again less the 100,000 that stands.
    assert _booked_schedule(body, 1) == _booked_schedule(before, 1)
    owed = sum(v for k, v in body["balances"].items() if k != "credit_minor")
    assert owed == 202_900 + 1_000 - 100_000
    # The waived penalty and interest are owed again: the 100,000 that stands pays them
    # first (900 penalty, the 2,000 interest due), then principal.
    assert before["balances"]["penalty_minor"] == 900
    assert body["balances"] == {
        "penalty_minor": 0,
        "fee_minor": 0,
        "interest_minor": 1_000,
        "principal_minor": 200_000 - (100_000 - 900 - 2_000),
        "credit_minor": 0,
    }
    (undone,) = await read_events(
        ["ledger.loans"], count=1, keys=[loan_id], types=["ledger.settlement.reversed.v1"]
    )
    _validate(undone)
    fact = json.loads(undone.data)
    assert fact["paid_minor"] == 100_000 and fact["amount_minor"] == 150_000
    assert (
        fact["reversed_on"] == "2026-03-21" and fact["schedule_version"] == body["schedule_version"]
    )
    rewrites = await read_events(
        ["ledger.loans"], count=2, keys=[loan_id], types=["ledger.schedule.rewritten.v1"]
    )
    assert json.loads(rewrites[-1].data)["reason"] == "settlement_reversed"
    await _reconciles(ledger)

    # Void for good: paying the 50,000 again is an ordinary payment, nothing is forgiven.
    assert (await ledger.pay(loan_id, 50_000, date(2026, 3, 21))).status_code == 201
    body = await _detail(ledger, loan_id)
    assert body["status"] == "active"
    owed = sum(v for k, v in body["balances"].items() if k != "credit_minor")
    assert owed == 202_900 + 1_000 - 150_000
    await _reconciles(ledger)


async def _cancel(ledger: Ledger, loan_id: str, plan_id: str) -> None:
    cancelled = PlanCancelled(plan_id=plan_id, loan_id=loan_id, plan_type="any", cancelled_on=AS_OF)
    await ledger.publish(new_event(cancelled, source="rs"))


async def _settlement_status(ledger: Ledger, plan_id: str) -> str | None:
    async with ledger.runtime.engine.connect() as conn:
        status: str | None = await conn.scalar(
            text("SELECT status FROM settlements WHERE plan_id = :p"), {"p": plan_id}
        )
    return status


async def test_a_cancelled_settlement_is_withdrawn_and_a_payment_of_its_amount_is_ordinary(
    own_ledger: Ledger,
) -> None:
    """The plan was cancelled in the restructure service while the ledger held the
    settlement: the offer is withdrawn, and paying its amount writes nothing off."""
    ledger = own_ledger
    loan_id, _ = await _settlement(ledger)
    async with ledger.runtime.engine.connect() as conn:
        plan_id = await conn.scalar(
            text("SELECT plan_id FROM settlements WHERE loan_id = :l"), {"l": loan_id}
        )
    await _cancel(ledger, loan_id, plan_id)

    async def withdrawn() -> bool:
        return await _settlement_status(ledger, plan_id) == "cancelled"

    await eventually(withdrawn, timeout=30)
    assert (await ledger.pay(loan_id, 150_000, AS_OF)).status_code == 201
    body = await _detail(ledger, loan_id)
    assert body["status"] == "active" and body["schedule_version"] == 1
    owed = sum(v for k, v in body["balances"].items() if k != "credit_minor")
    assert owed == 202_900 + 1_000 - 150_000
    await _reconciles(ledger)


async def test_a_waiver_booked_for_a_cancelled_plan_is_reinstated(own_ledger: Ledger) -> None:
    """The ledger booked the waiver before it read the cancellation: the penalty is owed
    again (``ledger.charge.booked``, the journal's income back)."""
    ledger = own_ledger
    product = await ledger.product(annual_rate="0.12", term=3, schedule_type="EQUAL_PRINCIPAL")
    loan_id = await _overdue_loan(ledger, product, penalty=900)
    pos = await _position(ledger, loan_id, AS_OF, "0.12", ScheduleType.EQUAL_PRINCIPAL)
    before = (await _detail(ledger, loan_id))["balances"]
    booked = json.loads((await _book(ledger, penalty_waiver(pos), pos)).data)
    assert (await _detail(ledger, loan_id))["balances"]["penalty_minor"] == 0
    await _cancel(ledger, loan_id, booked["plan_id"])

    async def restored() -> bool:
        return bool((await _detail(ledger, loan_id))["balances"] == before)

    await eventually(restored, timeout=30)

    def reinstating(e: CloudEvent) -> bool:
        fact = json.loads(e.data)
        return bool(fact["amount_minor"] > 0 and fact["business_date"] == AS_OF.isoformat())

    found = await read_events(
        ["ledger.loans"],
        count=20,
        keys=[loan_id],
        types=["ledger.charge.booked.v1"],
        until=lambda seen: any(reinstating(e) for e in seen),
    )
    (reinstated,) = [e for e in found if reinstating(e)]
    _validate(reinstated)
    assert json.loads(reinstated.data)["amount_minor"] == 900
    await _reconciles(ledger)
