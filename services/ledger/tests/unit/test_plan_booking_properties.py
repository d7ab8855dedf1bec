"""The ledger books every restructure quote exactly (``restructure.plan.accepted.v2``).

For annuity, equal-principal and bullet loans at any rate (0 % included), paid for a while,
then overdue with penalty and fees (or past maturity): the restructure domain quotes every
plan type on the ledger's own position, the handler books it over the fake unit of work,
and the ledger's booked schedule equals the quote to the minor unit, what is carried
onto the first new instalment is what the quote carries, and the journal reconciles with
the instalments (trial balance, and every receivable equals what the tables say is owed).
A discounted settlement paid in time writes off exactly what the quote forgives and
settles the loan; one not paid by its deadline lapses and changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger.adapters.records import LoanState
from ledger.domain import (
    Account,
    LedgerComponent,
    LoanProduct,
    balances,
    interest_due_entry,
    trial_balance_ok,
)
from ledger.domain.clock import LedgerClock
from ledger.service_layer import commands, handlers
from ledger.service_layer.restructuring import lapse_settlements
from lendkit.consumer import RejectedEvent
from lendkit.contracts.ledger import (
    LoanSettled,
    PlanBooked,
    ScheduleRewritten,
    SettlementCompleted,
    SettlementLapsed,
    SettlementReversed,
)
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.contracts.restructure import PlanCancelled
from lendkit.events import new_event
from lendkit.schedules import ScheduledInstalment, ScheduleType
from restructure.domain.errors import InvalidPlan
from restructure.domain.plans import (
    DEFERRED,
    DeferredInterest,
    Quote,
    discounted_settlement,
    payment_holiday,
    penalty_waiver,
    rate_reduction,
    re_amortisation,
    term_extension,
)
from restructure.domain.position import LoanPosition, LoanTerms
from restructure.service_layer.messages import plan_accepted

from .fakes import FakeLedgerUnitOfWork

pytestmark = pytest.mark.unit

DISBURSED = date(2025, 1, 10)
P, INT, PEN, FEE = (
    LedgerComponent.PRINCIPAL,
    LedgerComponent.INTEREST,
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
)
CLOCK = LedgerClock(ZoneInfo("Asia/Shanghai"))


async def _loan(
    schedule_type: ScheduleType, rate: Decimal, term: int, principal: int
) -> FakeLedgerUnitOfWork:
    product = LoanProduct(
        code="P", currency="CNY", annual_rate=rate, term=term, schedule_type=schedule_type
    )
    uow = FakeLedgerUnitOfWork([product])
    async with uow:
        await commands.disburse_loan(
            uow.as_ledger(),
            loan_id="L-1",
            borrower_id="B-1",
            product_code="P",
            principal=principal,
            disbursed_on=DISBURSED,
        )
        await uow.commit()
    return uow


def _recognise_interest(uow: FakeLedgerUnitOfWork, before: date) -> None:
    """What close of business does: interest of instalments due before ``before``."""
    stored = uow.loans.stored["L-1"]
    for i in stored.state.instalments:
        if i.due_date < before and i.interest > 0 and not i.interest_recognised:
            i.interest_recognised = True
            stored.journal.append((interest_due_entry(i.interest, "CNY"), i.due_date, None))


async def _pay(uow: FakeLedgerUnitOfWork, amount: int, on: date, ref: str) -> None:
    async with uow:
        await commands.record_payment(
            uow.as_ledger(), loan_id="L-1", reference=ref, amount=amount, value_date=on, clock=CLOCK
        )
        await uow.commit()


async def _charge(
    uow: FakeLedgerUnitOfWork, seq: int, component: str, amount: int, on: date
) -> None:
    event = new_event(
        PenaltyAssessed(
            loan_id="L-1",
            seq=seq,
            business_date=on,
            component=ContractComponent(component),
            base_minor=100_000,
            daily_rate="0.0005",
            amount_minor=amount,
            currency="CNY",
        ),
        source="overdue",
    )
    async with uow:
        await handlers.on_penalties_assessed(uow.as_ledger(), [event])
        await uow.commit()


def state(uow: FakeLedgerUnitOfWork) -> LoanState:
    return uow.loans.stored["L-1"].state


def position(uow: FakeLedgerUnitOfWork, as_of: date) -> LoanPosition:
    """The loan as the restructure service's read model sees it (unpaid parts)."""
    s = state(uow)
    product = s.product
    return LoanPosition(
        loan_id="L-1",
        as_of=as_of,
        terms=LoanTerms(
            "CNY",
            s.loan.annual_rate,
            product.schedule_type,
            product.frequency,
            product.day_count,
            product.rounding,
        ),
        unpaid=tuple(
            ScheduledInstalment(i.seq, i.due_date, i.outstanding[P], i.outstanding[INT])
            for i in s.instalments
            if i.outstanding[P] or i.outstanding[INT]
        ),
        penalty=sum(i.outstanding[PEN] for i in s.instalments),
        fee=sum(i.outstanding[FEE] for i in s.instalments),
    )


def assert_reconciles(uow: FakeLedgerUnitOfWork) -> None:
    entries = uow.loans.journal("L-1")
    assert trial_balance_ok(entries)
    books = balances(entries)
    s = state(uow)
    owed = {c: sum(i.outstanding[c] for i in s.instalments) for c in LedgerComponent}
    unrecognised = sum(i.interest for i in s.instalments if not i.interest_recognised)
    assert books[Account.LOAN_PRINCIPAL] == owed[P]
    assert books[Account.INTEREST_RECEIVABLE] == owed[INT] - unrecognised
    assert books[Account.PENALTY_RECEIVABLE] == owed[PEN]
    assert books[Account.FEE_RECEIVABLE] == owed[FEE]
    assert -books[Account.BORROWER_CREDIT] == s.loan.credit_balance


async def _book(uow: FakeLedgerUnitOfWork, quote: Quote, pos: LoanPosition) -> None:
    plan = plan_accepted("PLAN-1", quote, pos, pos.as_of)
    async with uow:
        await handlers.on_plan_accepted_v2(uow.as_ledger(), new_event(plan, source="restructure"))
        await uow.commit()


@st.composite
def overdue_loans(draw: st.DrawFn) -> tuple[ScheduleType, Decimal, int, int, int, int, int, int]:
    schedule_type = draw(st.sampled_from(list(ScheduleType)))
    rate = draw(st.sampled_from([Decimal(0), Decimal("0.06"), Decimal("0.18"), Decimal("0.24")]))
    term = draw(st.integers(2, 12))
    principal = draw(st.integers(10_000, 5_000_000))
    paid = draw(st.integers(0, term - 1))
    # As of a day after the first unpaid instalment fell due: up to two periods past
    # maturity (re-age after maturity included).
    as_of_day = draw(st.integers(1, (term - paid + 2) * 31))
    penalty = draw(st.integers(0, 50_000))
    fee = draw(st.integers(0, 20_000))
    return schedule_type, rate, term, principal, paid, as_of_day, penalty, fee


async def _overdue(
    params: tuple[ScheduleType, Decimal, int, int, int, int, int, int],
) -> tuple[FakeLedgerUnitOfWork, date]:
    schedule_type, rate, term, principal, paid, as_of_day, penalty, fee = params
    uow = await _loan(schedule_type, rate, term, principal)
    instalments = sorted(state(uow).instalments, key=lambda i: i.seq)
    for n, i in enumerate(instalments[:paid]):
        _recognise_interest(uow, i.due_date + timedelta(days=1))
        if i.interest + i.principal:
            await _pay(uow, i.interest + i.principal, i.due_date, f"ref-{n}")
    first_unpaid = instalments[paid]
    as_of = first_unpaid.due_date + timedelta(days=as_of_day)
    _recognise_interest(uow, as_of)
    if penalty:
        await _charge(uow, first_unpaid.seq, "penalty", penalty, as_of - timedelta(days=1))
    if fee:
        await _charge(uow, first_unpaid.seq, "fee", fee, as_of - timedelta(days=1))
    assert_reconciles(uow)
    return uow, as_of


def _quote_for(kind: str, pos: LoanPosition, draw: st.DrawFn) -> Quote:
    if kind == "payment_holiday":
        return payment_holiday(
            pos, draw(st.integers(1, 3)), draw(st.sampled_from(list(DeferredInterest)))
        )
    if kind == "term_extension":
        return term_extension(pos, draw(st.integers(1, 6)), capitalise_arrears=draw(st.booleans()))
    if kind == "re_amortisation":
        return re_amortisation(pos)
    if kind == "rate_reduction":
        rate = pos.terms.annual_rate
        return rate_reduction(pos, draw(st.sampled_from([Decimal(0), rate / 2, rate])))
    return penalty_waiver(
        pos,
        draw(st.integers(0, pos.penalty)),
        draw(st.sampled_from([None, 0, pos.fee // 2])),
    )


REWRITES = ["payment_holiday", "term_extension", "re_amortisation", "rate_reduction"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan=overdue_loans(), kind=st.sampled_from([*REWRITES, "penalty_waiver"]), data=st.data())
def test_the_booked_schedule_is_the_quote_and_the_journal_reconciles(
    loan: tuple[ScheduleType, Decimal, int, int, int, int, int, int], kind: str, data: st.DataObject
) -> None:
    uow, as_of = asyncio.run(_overdue(loan))
    pos = position(uow, as_of)
    try:
        quote = _quote_for(kind, pos, data.draw)
    except InvalidPlan:
        assume(False)
        return
    asyncio.run(_check_booking(uow, pos, quote))


async def _check_booking(uow: FakeLedgerUnitOfWork, pos: LoanPosition, quote: Quote) -> None:
    before = [(i.seq, i.due_date, i.principal, i.interest) for i in state(uow).instalments]
    await _book(uow, quote, pos)

    s = state(uow)
    (booked,) = uow.published(PlanBooked)
    assert booked.plan_id == "PLAN-1" and booked.rewrote_schedule == quote.rewrites_schedule
    assert {a.kind: a.amount_minor for a in booked.waived} == dict(quote.waived)
    if quote.rewrites_schedule:
        (rewritten,) = uow.published(ScheduleRewritten)
        assert rewritten.plan_id == "PLAN-1" and rewritten.schedule_version == 2
        first = quote.instalments[0].seq
        assert [
            (i.seq, i.due_date, i.principal, i.interest) for i in s.instalments if i.seq >= first
        ] == [(i.seq, i.due_date, i.principal, i.interest) for i in quote.instalments]
        assert {a.kind: a.amount_minor for a in booked.capitalised} == dict(quote.capitalised)
        assert {a.kind: a.amount_minor for a in booked.carried_to_first} == dict(quote.carried)
        # What the quote carries is owed with the first new instalment, nothing else is.
        head = s.instalment(first)
        assert head is not None
        carried_interest = quote.carried.get("interest", 0) + quote.carried.get(DEFERRED, 0)
        assert head.outstanding[INT] == head.interest + carried_interest
        assert head.outstanding[PEN] == quote.carried.get("penalty", 0)
        assert head.outstanding[FEE] == quote.carried.get("fee", 0)
        assert all(i.owed == 0 for i in s.instalments if i.seq < first)
        assert sum(i.outstanding[P] for i in s.instalments) == quote.new_principal
    else:
        assert [(i.seq, i.due_date, i.principal, i.interest) for i in s.instalments] == before
        assert sum(i.outstanding[PEN] for i in s.instalments) == pos.penalty - quote.waived.get(
            "penalty", 0
        )
        assert sum(i.outstanding[FEE] for i in s.instalments) == pos.fee - quote.waived.get(
            "fee", 0
        )
    assert_reconciles(uow)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan=overdue_loans(), share=st.integers(1, 100), in_time=st.booleans())
def test_a_settlement_paid_in_time_writes_off_what_the_quote_forgives(
    loan: tuple[ScheduleType, Decimal, int, int, int, int, int, int], share: int, in_time: bool
) -> None:
    asyncio.run(_check_settlement(loan, share, in_time))


async def _check_settlement(
    loan: tuple[ScheduleType, Decimal, int, int, int, int, int, int], share: int, in_time: bool
) -> None:
    uow, as_of = await _overdue(loan)
    pos = position(uow, as_of)
    amount = max(1, pos.total_owed * share // 100)
    deadline = as_of + timedelta(days=30)
    quote = discounted_settlement(pos, amount, deadline)
    before = [(i.seq, i.principal, i.interest, dict(i.outstanding)) for i in state(uow).instalments]
    await _book(uow, quote, pos)
    (held,) = uow.published(PlanBooked)
    assert (held.settlement_amount_minor, held.settlement_deadline) == (amount, deadline)
    assert not uow.published(ScheduleRewritten)

    if in_time:
        await _pay(uow, amount, deadline, "settle")
        (done,) = uow.published(SettlementCompleted)
        assert done.paid_minor == amount
        assert done.written_off_principal_minor == quote.written_off_principal
        assert {a.kind: a.amount_minor for a in done.waived} == dict(quote.waived)
        assert state(uow).loan.status == "settled"
        assert all(i.owed == 0 for i in state(uow).instalments)
        assert uow.published(LoanSettled)
        assert_reconciles(uow)
        # The settling payment bounces: the settlement is void and the loan owes what it
        # owed before, on the terms it had before, the write-off and waivers reinstated.
        (paid,) = [p for p in state(uow).payments if p.value_date == deadline]
        async with uow:
            await commands.reverse_payment(
                uow.as_ledger(),
                loan_id="L-1",
                payment_id=paid.payment_id,
                reason="chargeback",
                business_date=deadline,
            )
            await uow.commit()
        (voided,) = uow.published(SettlementReversed)
        assert (voided.plan_id, voided.paid_minor, voided.amount_minor) == ("PLAN-1", 0, amount)
        assert voided.schedule_version == state(uow).loan.schedule_version
        assert state(uow).loan.status != "settled"
        assert [
            (i.seq, i.principal, i.interest, dict(i.outstanding)) for i in state(uow).instalments
        ] == before
        assert uow.settlements.rows["PLAN-1"].status == "reversed"
    else:
        if amount > 1:
            await _pay(uow, amount - 1, deadline, "short")
        async with uow:
            await uow.emit_all(await lapse_settlements(uow.as_ledger(), deadline))
            await uow.commit()
        (lapsed,) = uow.published(SettlementLapsed)
        assert (lapsed.plan_id, lapsed.amount_minor, lapsed.paid_minor) == (
            "PLAN-1",
            amount,
            amount - 1,
        )
        assert not uow.published(SettlementCompleted)
        assert state(uow).loan.schedule_version == 1
        if amount == 1:
            assert [
                (i.seq, i.principal, i.interest, dict(i.outstanding))
                for i in state(uow).instalments
            ] == before
    assert_reconciles(uow)


def _owing(
    uow: FakeLedgerUnitOfWork,
) -> list[tuple[int, object, int, int, dict[LedgerComponent, int]]]:
    return [
        (i.seq, i.due_date, i.principal, i.interest, dict(i.outstanding))
        for i in sorted(state(uow).instalments, key=lambda i: i.seq)
    ]


async def _cancel(uow: FakeLedgerUnitOfWork, on: date) -> None:
    cancelled = PlanCancelled(plan_id="PLAN-1", loan_id="L-1", plan_type="any", cancelled_on=on)
    async with uow:
        await handlers.on_plan_cancelled(
            uow.as_ledger(), new_event(cancelled, source="restructure")
        )
        await uow.commit()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loan=overdue_loans(),
    kind=st.sampled_from([*REWRITES, "penalty_waiver", "discounted_settlement"]),
    data=st.data(),
)
def test_a_cancelled_plan_leaves_the_loan_as_it_was_before_the_plan(
    loan: tuple[ScheduleType, Decimal, int, int, int, int, int, int], kind: str, data: st.DataObject
) -> None:
    """Whatever the ledger booked for a plan the restructure service then cancelled (a
    rewrite, a waiver, a held settlement) is undone: the loan owes exactly what it owed, on
    the terms it had, and the journal reconciles."""
    uow, as_of = asyncio.run(_overdue(loan))
    pos = position(uow, as_of)
    try:
        if kind == "discounted_settlement":
            quote = discounted_settlement(
                pos, max(1, pos.total_owed // 2), as_of + timedelta(days=30)
            )
        else:
            quote = _quote_for(kind, pos, data.draw)
    except InvalidPlan:
        assume(False)
        return
    asyncio.run(_check_cancellation(uow, pos, quote, kind))


async def _check_cancellation(
    uow: FakeLedgerUnitOfWork, pos: LoanPosition, quote: Quote, kind: str
) -> None:
    before = _owing(uow)
    await _book(uow, quote, pos)
    await _cancel(uow, pos.as_of)
    assert _owing(uow) == before
    assert_reconciles(uow)
    if kind == "discounted_settlement":
        assert uow.settlements.rows["PLAN-1"].status == "cancelled"
        # Withdrawn: paying the amount is an ordinary payment, nothing is written off.
        await _pay(uow, pos.total_owed // 2 or 1, pos.as_of, "after")
        assert not uow.published(SettlementCompleted)
        assert state(uow).loan.schedule_version == 1
    elif kind in REWRITES:
        rewrites = uow.published(ScheduleRewritten)
        assert [r.reason for r in rewrites][-1] == "plan_cancelled"
    assert_reconciles(uow)


async def test_a_quote_on_another_balance_is_refused_with_the_reason() -> None:
    uow, as_of = await _overdue((ScheduleType.ANNUITY, Decimal("0.12"), 3, 300_000, 1, 5, 0, 0))
    pos = position(uow, as_of)
    stale = LoanPosition(
        pos.loan_id,
        pos.as_of,
        pos.terms,
        tuple(
            ScheduledInstalment(i.seq, i.due_date, i.principal + 1, i.interest) for i in pos.unpaid
        ),
    )
    plan = plan_accepted("PLAN-1", term_extension(stale, 2), stale, as_of)
    async with uow:
        with pytest.raises(RejectedEvent, match="does not conserve the balance"):
            await handlers.on_plan_accepted_v2(
                uow.as_ledger(), new_event(plan, source="restructure")
            )


async def test_while_a_settlement_is_held_another_plan_is_refused() -> None:
    uow, as_of = await _overdue((ScheduleType.ANNUITY, Decimal("0.12"), 3, 300_000, 1, 5, 500, 0))
    pos = position(uow, as_of)
    await _book(uow, discounted_settlement(pos, 100_000, as_of + timedelta(days=10)), pos)
    plan = plan_accepted("PLAN-2", term_extension(pos, 2), pos, as_of)
    async with uow:
        with pytest.raises(RejectedEvent, match="has a pending settlement"):
            await handlers.on_plan_accepted_v2(
                uow.as_ledger(), new_event(plan, source="restructure")
            )
    assert state(uow).loan.schedule_version == 1


async def test_a_plan_capitalising_more_than_is_owed_is_refused_naming_the_amount() -> None:
    uow, as_of = await _overdue((ScheduleType.ANNUITY, Decimal("0.12"), 3, 300_000, 1, 5, 500, 0))
    pos = position(uow, as_of)
    richer = LoanPosition(pos.loan_id, pos.as_of, pos.terms, pos.unpaid, penalty=900)
    plan = plan_accepted(
        "PLAN-1", term_extension(richer, 2, capitalise_arrears=True), richer, as_of
    )
    async with uow:
        with pytest.raises(RejectedEvent, match="penalty: the plan capitalises 900"):
            await handlers.on_plan_accepted_v2(
                uow.as_ledger(), new_event(plan, source="restructure")
            )
    assert state(uow).loan.schedule_version == 1
