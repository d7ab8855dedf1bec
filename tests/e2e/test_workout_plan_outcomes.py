"""Ledger, overdue and restructure together over Kafka: promises kept, partly kept and
broken; a discounted settlement paid in time (remainder written off, loan closed, plan
completed) and one paid late (offer lapsed, nothing written off); a rate reduction to 0 %
through the whole flow.

These tests close some 50 consecutive business days between them: they run on a platform of
their own whose ledger is on a simulated clock, and every test starts on the first day
nobody closed yet, ``T0`` (``restructure_flow.next_free_day``), dating everything from it.
The loans are weekly: 3,000.00 CNY, 3 weeks at 12 %, disbursed ``T0``, due ``T0 + 7``,
``T0 + 14`` and ``T0 + 21``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendkit.contracts.ledger import PlanBooked, SettlementCompleted, SettlementLapsed
from lendkit.contracts.restructure import PromiseFallingDue, PromiseResolved
from lendkit.testing import eventually, read_events

from .conftest import Platform, close_business_days, own_platform
from .restructure_flow import (
    Borrowed,
    accept,
    borrow,
    ledger_event,
    next_free_day,
    option_for,
    pay,
    plan_becomes,
    plan_event_types,
    restructuring,
    seen_on,
)

WEEKLY = "WEEKLY"


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with own_platform(simulated_clock=True) as running:
        yield running


async def _overdue_weekly_loans(
    platform: Platform, prefix: str, policy: dict[str, Any], n: int
) -> tuple[list[Borrowed], date]:
    """``n`` weekly loans disbursed on ``T0`` whose first instalment (``T0 + 7``) is not
    paid: overdue at the close of ``T0 + 11`` (DPD 4, arrears grace 3); today ``T0 + 12``."""
    ledger = platform["ledger"]
    t0 = await next_free_day(ledger)
    loans = [
        await borrow(platform, prefix, disbursed_on=t0, restructure_policy=policy, frequency=WEEKLY)
        for _ in range(n)
    ]
    await close_business_days(ledger, t0, t0 + timedelta(days=11))
    today = t0 + timedelta(days=12)
    for loan in loans:
        await seen_on(platform, loan, today)
        assert (await restructuring(platform, loan))["days_past_due"] == 5
    return loans, today


async def test_promises_kept_partly_kept_and_broken(platform: Platform) -> None:
    """Three loans, each with a promise made on ``T = T0 + 1`` of 500.00 by ``T + 3``
    (grace 2 days): one paid 500.00 on ``T`` (kept, resolved at the close of ``T``), one
    200.00 (partly kept), one nothing (broken), both resolved at the close of ``T + 6``."""
    ledger, restructure = platform["ledger"], platform["restructure"]
    t0 = await next_free_day(ledger)
    policy = {"promise_grace_days": 2}
    loans = [
        await borrow(platform, "PTP", disbursed_on=t0, restructure_policy=policy, frequency=WEEKLY)
        for _ in range(3)
    ]
    await close_business_days(ledger, t0, t0)
    today = t0 + timedelta(days=1)
    promised_on = today + timedelta(days=3)
    promise_ids = []
    for loan, paid in zip(loans, (50_000, 20_000, 0), strict=True):
        await seen_on(platform, loan, today)
        made = await restructure.client.post(
            f"/loans/{loan.loan_id}/promises",
            json={"promised_on": promised_on.isoformat(), "amount_minor": 50_000},
            headers={**loan.me, "Idempotency-Key": f"{loan.loan_id}-promise"},
        )
        assert made.status_code == 201, made.text
        promise_ids.append(made.json()["promise_id"])
        if paid:
            await pay(platform, loan, paid, today, "toward-promise")
    for loan in loans:
        await seen_on(platform, loan, today)  # the payments are in the read model
    await close_business_days(ledger, today, promised_on + timedelta(days=3))

    async def outcomes() -> list[tuple[str, int]]:
        out = []
        for loan in loans:
            [promise] = (await restructuring(platform, loan))["promises"]
            out.append((promise["status"], promise["matched_minor"]))
        return out

    async def resolved() -> bool:
        return all(status != "open" for status, _ in await outcomes())

    await eventually(resolved, timeout=90, interval=0.5)
    assert await outcomes() == [("kept", 50_000), ("partly_kept", 20_000), ("broken", 0)]
    events = await read_events(
        [platform.namespace + "restructure.plans"],
        count=3,
        types=["restructure.promise.resolved.v1"],
        keys=[loan.loan_id for loan in loans],
    )
    by_promise = {e.payload(PromiseResolved).promise_id: e.payload(PromiseResolved) for e in events}
    assert [(by_promise[p].outcome, by_promise[p].resolved_on) for p in promise_ids] == [
        ("kept", today),  # kept as soon as paid: resolved at that day's close
        ("partly_kept", promised_on + timedelta(days=3)),
        ("broken", promised_on + timedelta(days=3)),
    ]
    # The day before its date, each promise not kept yet fell due with what was still owed,
    # and the notifier decided a promise-due reminder for it (none for the kept one).
    falling = await read_events(
        [platform.namespace + "restructure.plans"],
        count=2,
        types=["restructure.promise.falling_due.v1"],
        keys=[loan.loan_id for loan in loans],
    )
    due = {e.payload(PromiseFallingDue).promise_id: e.payload(PromiseFallingDue) for e in falling}
    assert {p: (d.business_date, d.remaining_minor) for p, d in due.items()} == {
        promise_ids[1]: (promised_on - timedelta(days=1), 30_000),
        promise_ids[2]: (promised_on - timedelta(days=1), 50_000),
    }
    notifier = platform["notifier"]

    async def reminders(loan_id: str) -> int:
        r = await notifier.client.get(f"/loans/{loan_id}/contact-attempts", headers=notifier.ops)
        assert r.status_code == 200, r.text
        return sum(
            1
            for a in r.json()["items"]
            if a["purpose"] == "promise_due" and a["state"] == "decided"
        )

    async def reminded() -> bool:
        return [await reminders(loan.loan_id) for loan in loans] == [0, 1, 1]

    await eventually(reminded, timeout=60, interval=0.5)


async def test_discounted_settlements_paid_in_time_and_late(platform: Platform) -> None:
    """Two overdue loans accept a discounted settlement on ``T = T0 + 12`` (at most 20 %
    off what is owed, deadline ``T + 14``). One pays the amount on ``T``: the remainder is
    written off, the loan closed, the plan completed. The other pays nothing by the
    deadline: at its close the offer lapses, nothing is written off, the plan is lapsed;
    the amount paid the next day is an ordinary payment on the loan's terms."""
    policy = {
        "allowed_options": ["discounted_settlement"],
        "max_discount_bps": 2_000,
        "approval_threshold_minor": 100_000_000,
    }
    (in_time, late), today = await _overdue_weekly_loans(platform, "DS", policy, 2)
    deadline = today + timedelta(days=14)
    plans = {}
    quotes = {}
    for loan in (in_time, late):
        option = await option_for(platform, loan, "discounted_settlement")
        quotes[loan.loan_id] = option["quote"]
        assert option["quote"]["settlement_deadline"] == deadline.isoformat()
        plans[loan.loan_id] = await accept(platform, loan, option["offer_id"])
    amounts = {}
    for loan in (in_time, late):
        booked = (await ledger_event(platform, loan, "ledger.plan.booked.v1")).payload(PlanBooked)
        assert (booked.plan_id, booked.settlement_deadline) == (plans[loan.loan_id], deadline)
        assert booked.settlement_amount_minor is not None
        amounts[loan.loan_id] = booked.settlement_amount_minor
        held = await plan_becomes(platform, loan, plans[loan.loan_id], "accepted")
        assert held["activated_on"] is None  # held, not active, until paid or lapsed

    await pay(platform, in_time, amounts[in_time.loan_id], today, "settlement")
    completed = (await ledger_event(platform, in_time, "ledger.settlement.completed.v1")).payload(
        SettlementCompleted
    )
    quote = quotes[in_time.loan_id]
    assert completed.paid_minor == amounts[in_time.loan_id]
    # What the quote forgives, and a penalty booked after the quote's position too (the
    # ledger forgives what is still owed once the amount is paid in time).
    assert completed.written_off_principal_minor >= quote["written_off_principal_minor"] > 0
    plan = await plan_becomes(platform, in_time, plans[in_time.loan_id], "completed")
    assert (plan["activated_on"], plan["closed_on"]) == (today.isoformat(), today.isoformat())
    ledger = platform["ledger"]
    detail = (await ledger.client.get(f"/loans/{in_time.loan_id}", headers=ledger.ops)).json()
    assert detail["status"] == "settled"
    assert "restructure.plan.completed.v1" in await plan_event_types(
        platform, in_time, "restructure.plan.completed.v1"
    )

    await close_business_days(ledger, today, deadline)
    lapsed = (await ledger_event(platform, late, "ledger.settlement.lapsed.v1")).payload(
        SettlementLapsed
    )
    assert (lapsed.lapsed_on, lapsed.paid_minor) == (deadline, 0)
    plan = await plan_becomes(platform, late, plans[late.loan_id], "lapsed")
    assert (plan["activated_on"], plan["closed_on"]) == (None, deadline.isoformat())
    after = deadline + timedelta(days=1)
    await pay(platform, late, amounts[late.loan_id], after, "too-late")
    await seen_on(platform, late, after)
    detail = (await ledger.client.get(f"/loans/{late.loan_id}", headers=ledger.ops)).json()
    assert detail["status"] == "active", "nothing was written off: the loan still owes the rest"
    owed = sum(sum(i["outstanding"].values()) for i in detail["schedule"] if i["outstanding"])
    assert owed > 0
    completions = await read_events(
        [platform.namespace + "ledger.loans"],
        count=1,
        types=["ledger.settlement.completed.v1"],
        keys=[late.loan_id],
        timeout=5,
    )
    assert completions == []


async def test_a_rate_reduction_to_zero_percent_through_the_whole_flow(
    platform: Platform,
) -> None:
    """An overdue loan takes a rate reduction to 0 % on ``T = T0 + 12``: the outstanding
    principal over the remaining due dates (``T0 + 14``, ``T0 + 21``: seq 4 and 5) with no
    interest; the overdue interest and penalty carried onto the first. The ledger books
    exactly the quote, the plan is active, the loan cured; paid off, the plan completes."""
    policy = {"allowed_options": ["rate_reduction"]}
    (loan,), today = await _overdue_weekly_loans(platform, "RR", policy, 1)
    option = await option_for(platform, loan, "rate_reduction")
    quote = option["quote"]
    t0 = today - timedelta(days=12)
    assert [(i["seq"], i["due_date"]) for i in quote["instalments"]] == [
        (4, (t0 + timedelta(days=14)).isoformat()),
        (5, (t0 + timedelta(days=21)).isoformat()),
    ]
    assert sum(i["principal_minor"] for i in quote["instalments"]) == 300_000
    assert [i["interest_minor"] for i in quote["instalments"]][1:] == [0]
    plan_id = await accept(platform, loan, option["offer_id"])
    await plan_becomes(platform, loan, plan_id, "active")
    ledger = platform["ledger"]
    detail = (await ledger.client.get(f"/loans/{loan.loan_id}", headers=ledger.ops)).json()
    booked = [i for i in detail["schedule"] if i["seq"] >= 4]
    assert [(i["seq"], i["principal_minor"], i["interest_minor"]) for i in booked] == [
        (i["seq"], i["principal_minor"], i["interest_minor"]) for i in quote["instalments"]
    ], "the ledger booked exactly the quoted schedule"
    assert Decimal(detail["annual_rate"]) == 0
    cured = await read_events(
        [platform.namespace + "overdue.loans"],
        count=1,
        types=["overdue.loan.cured.v1"],
        keys=[loan.loan_id],
        timeout=30,
    )
    assert cured, "the re-amortised loan is no longer overdue"
    for item in booked:
        await pay(platform, loan, sum(item["outstanding"].values()), today, f"rr-{item['seq']}")
    await plan_becomes(platform, loan, plan_id, "completed")
    types = await plan_event_types(platform, loan, "restructure.plan.completed.v1")
    for expected in (
        "restructure.plan.accepted.v2",
        "restructure.plan.activated.v1",
        "restructure.plan.completed.v1",
    ):
        assert expected in types, types
