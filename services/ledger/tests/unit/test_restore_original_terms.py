"""A broken plan with ``on_break: restore_original_terms`` puts the loan back on its
original terms (``ledger.domain.restore``, ``service_layer.restore``), over the fake unit
of work.

For annuity, equal-principal and bullet loans, overdue, rescheduled by every plan type that
rewrites the schedule, paid for a while under the plan, charged a penalty on a plan
instalment, then broken: the schedule is the original one again (due dates, amounts, rate),
what is still owed plus what was paid is the original schedule's principal and interest to
the minor unit, every plan concession is reversed (what the plan moved, capitalised and
waived is owed again on the original instalments), and the journal reconciles with the
instalments. A break that resumes collections books nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger.domain import LedgerComponent
from ledger.domain.restore import RESTORED
from ledger.service_layer import handlers
from lendkit.contracts.ledger import ScheduleRewritten
from lendkit.contracts.restructure import PlanBroken
from lendkit.events import new_event
from lendkit.schedules import ScheduleType
from restructure.domain.errors import InvalidPlan

from .fakes import FakeLedgerUnitOfWork
from .test_plan_booking_properties import (
    INT,
    PEN,
    REWRITES,
    P,
    _book,
    _charge,
    _overdue,
    _pay,
    _quote_for,
    _recognise_interest,
    assert_reconciles,
    overdue_loans,
    position,
    state,
)

pytestmark = pytest.mark.unit

PLAN_KINDS = {"transfer", "capitalised", "waived", "added", RESTORED}


async def _break(uow: FakeLedgerUnitOfWork, on: date, on_break: str) -> None:
    broken = PlanBroken(
        plan_id="PLAN-1", loan_id="L-1", broken_on=on, missed_seq=1, on_break=on_break
    )
    async with uow:
        await handlers.on_plan_broken(uow.as_ledger(), new_event(broken, source="restructure"))
        await uow.commit()


def _paid(uow: FakeLedgerUnitOfWork, component: LedgerComponent) -> int:
    return sum(
        line.amount
        for result in state(uow).allocations.values()
        for line in result.lines
        if line.component is component
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loan=overdue_loans(),
    kind=st.sampled_from(REWRITES),
    paid_share=st.integers(0, 100),
    plan_penalty=st.integers(0, 9_999),
    data=st.data(),
)
def test_restored_outstanding_plus_paid_is_the_original_schedule_and_the_journal_reconciles(
    loan: tuple[ScheduleType, Decimal, int, int, int, int, int, int],
    kind: str,
    paid_share: int,
    plan_penalty: int,
    data: st.DataObject,
) -> None:
    uow, as_of = asyncio.run(_overdue(loan))
    pos = position(uow, as_of)
    try:
        quote = _quote_for(kind, pos, data.draw)
    except InvalidPlan:
        assume(False)
        return
    asyncio.run(_check_restore(uow, as_of, pos, quote, paid_share, plan_penalty))


async def _check_restore(uow, as_of, pos, quote, paid_share: int, plan_penalty: int) -> None:  # type: ignore[no-untyped-def]
    original = [(i.seq, i.due_date, i.principal, i.interest) for i in state(uow).instalments]
    original_rate = state(uow).loan.annual_rate
    charged = {
        c: sum(x.amount for x in state(uow).charges if x.component is c)
        for c in (PEN, LedgerComponent.FEE)
    }
    await _book(uow, quote, pos)
    first_new = quote.instalments[0]
    # Something paid under the plan, then the plan's first instalment missed: a penalty on it.
    if amount := first_new.principal * paid_share // 100:
        await _pay(uow, amount, as_of + timedelta(days=1), "under-plan")
    broken_on = first_new.due_date + timedelta(days=10)
    _recognise_interest(uow, broken_on)
    if plan_penalty:
        await _charge(uow, first_new.seq, "penalty", plan_penalty, broken_on)
        charged[PEN] += plan_penalty

    await _break(uow, broken_on, "restore_original_terms")

    s = state(uow)
    assert [(i.seq, i.due_date, i.principal, i.interest) for i in s.instalments] == original
    assert s.loan.annual_rate == original_rate
    for component in (P, INT):
        owed = sum(i.outstanding[component] for i in s.instalments)
        scheduled = sum(i.principal if component is P else i.interest for i in s.instalments)
        assert owed + _paid(uow, component) == scheduled
    # Every concession reversed: for penalty and fees the plan's rows and their reversals
    # net to nothing, and what is owed plus paid is everything ever charged.
    for component in (PEN, LedgerComponent.FEE):
        plan_rows = [
            c.amount for c in s.charges if c.component is component and c.kind in PLAN_KINDS
        ]
        assert sum(plan_rows) == 0
        owed = sum(i.outstanding[component] for i in s.instalments)
        assert owed + _paid(uow, component) == charged[component]
    rewritten = uow.published(ScheduleRewritten)[-1]
    assert rewritten.reason == "restore_original_terms" and rewritten.plan_id == "PLAN-1"
    assert rewritten.effective_date == as_of
    assert Decimal(rewritten.annual_rate) == original_rate
    assert_reconciles(uow)


def test_a_break_that_resumes_collections_books_nothing() -> None:
    async def run() -> None:
        loan = (ScheduleType.ANNUITY, Decimal("0.24"), 6, 600_000, 1, 40, 1_000, 0)
        uow, as_of = await _overdue(loan)
        pos = position(uow, as_of)
        await _book(uow, _quote_for("re_amortisation", pos, lambda s: None), pos)  # type: ignore[arg-type]
        before = [(i.seq, i.due_date, i.principal, i.interest) for i in state(uow).instalments]
        journal = len(uow.loans.journal("L-1"))
        published = len(uow.published(ScheduleRewritten))
        await _break(uow, as_of + timedelta(days=60), "resume_collections")
        after = [(i.seq, i.due_date, i.principal, i.interest) for i in state(uow).instalments]
        assert after == before
        assert len(uow.loans.journal("L-1")) == journal
        assert len(uow.published(ScheduleRewritten)) == published

    asyncio.run(run())
