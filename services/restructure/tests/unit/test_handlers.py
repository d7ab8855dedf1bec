"""Handlers and commands over the fake unit of work: the read model, the hardship flow,
maker-checker, activation, monitoring, promises and expiry, with no server.

The loan: 12,000.00 CNY at 12 % over 12 months (annuity), first due 2026-02-01, nothing
paid; the ledger closed 2026-03-14, so today is 2026-03-15 (DPD 42).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendkit.auth import Principal, Role
from lendkit.consumer import Batchable
from lendkit.contracts import ledger, notifier, overdue
from lendkit.contracts import restructure as contract
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.events import new_event
from lendkit.failures import RejectedEvent
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType, regular_schedule
from restructure.domain.errors import (
    FourEyesViolation,
    LoanNotFound,
    OfferHasExpired,
    PendingRequestExists,
    StaleQuote,
)
from restructure.entrypoints.consumers import CONSUMERS
from restructure.service_layer import commands

from .fakes import FakeRestructureUnitOfWork

SCHEDULE = regular_schedule(
    1_200_000,
    annual_rate=Decimal("0.12"),
    term=12,
    first_due_date=date(2026, 2, 1),
    start_seq=1,
    schedule_type=ScheduleType.ANNUITY,
    frequency=Frequency.MONTHLY,
    day_count=DayCount.ACT_365,
    rounding=Rounding.HALF_EVEN,
)
BORROWER = Principal("B-1", frozenset({Role.BORROWER}), borrower_id="B-1")
OPS_A = Principal("ops-a", frozenset({Role.OPS}))
OPS_B = Principal("ops-b", frozenset({Role.OPS}))


async def deliver(uow: FakeRestructureUnitOfWork, payload: Any) -> None:
    event = new_event(payload, source="ledger")
    async with uow:
        await CONSUMERS.by_type[event.type](uow, event)
        await uow.commit()


def product(policy: dict[str, Any] | None = None, code: str = "P-1") -> ledger.ProductPublished:
    return ledger.ProductPublished(
        code=code,
        currency="CNY",
        annual_rate="0.12",
        day_count="ACT_365",
        term=12,
        frequency="MONTHLY",
        schedule_type="ANNUITY",
        rounding="HALF_EVEN",
        allocation_strategy="oldest_first",
        allocation_components=["penalty", "fee", "interest", "principal"],
        reminder_days_before=[3, 1],
        restructure_policy=policy or {},
    )


def disbursed(loan_id: str = "L-1", code: str = "P-1") -> ledger.LoanDisbursed:
    return ledger.LoanDisbursed(
        loan_id=loan_id,
        borrower_id="B-1",
        product_code=code,
        currency="CNY",
        principal_minor=1_200_000,
        annual_rate="0.12",
        disbursed_on=date(2026, 1, 1),
        timezone="Asia/Shanghai",
        instalments=[
            InstalmentTerms(
                seq=i.seq,
                due_date=i.due_date,
                principal_minor=i.principal,
                interest_minor=i.interest,
            )
            for i in SCHEDULE
        ],
        loan_version=1,
    )


def closed(day: date, partition: int = 0, partitions: int = 1) -> ledger.BusinessDayClosed:
    return ledger.BusinessDayClosed(business_date=day, partition=partition, partitions=partitions)


def balances(rows: Any, penalty_on_first: int = 0) -> list[InstalmentBalance]:
    return [
        InstalmentBalance(
            seq=i.seq,
            due_date=i.due_date,
            principal_minor=i.principal,
            interest_minor=i.interest,
            penalty_minor=penalty_on_first if n == 0 else 0,
            fee_minor=0,
        )
        for n, i in enumerate(rows)
    ]


async def world(
    policy: dict[str, Any] | None = None, penalty: int = 0
) -> FakeRestructureUnitOfWork:
    uow = FakeRestructureUnitOfWork()
    await deliver(uow, product(policy))
    await deliver(uow, disbursed())
    if penalty:
        event = _penalty(2, penalty)
        async with uow:
            await CONSUMERS.by_type[event.type](uow, event)
            await uow.commit()
    await deliver(uow, closed(date(2026, 3, 14)))
    return uow


async def request(uow: FakeRestructureUnitOfWork) -> commands.HardshipQuoted:
    async with uow:
        quoted = await commands.request_hardship(uow, BORROWER, "L-1", "lost my job")
        await uow.commit()
    return quoted


def offer_of(quoted: commands.HardshipQuoted, plan_type: str) -> str:
    option = next(o for o in quoted.options if o.row.plan_type == plan_type)
    assert option.offer_id is not None
    return option.offer_id


async def test_the_read_model_follows_the_ledgers_balances_and_ignores_older_versions() -> None:
    uow = await world()
    paid = balances(SCHEDULE[1:])
    await deliver(
        uow,
        ledger.PaymentAllocated(
            loan_id="L-1",
            payment_id="pay-1",
            value_date=date(2026, 2, 1),
            amount_minor=SCHEDULE[0].total,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=paid,
            loan_version=3,
        ),
    )
    stale = ledger.PaymentReversed(
        loan_id="L-1",
        payment_id="other",
        reason="old",
        currency="CNY",
        credit_balance_minor=0,
        balances=balances(SCHEDULE),
        loan_version=2,
    )
    await deliver(uow, stale)
    loan = uow.loans.rows["L-1"]
    assert [i.seq for i in loan.instalments] == list(range(2, 13))
    assert loan.payments_made == 1
    assert loan.terms is not None and loan.terms.schedule_type is ScheduleType.ANNUITY


def _penalty(loan_version: int | None, penalty: int, loan_id: str = "L-1") -> Any:
    return new_event(
        ledger.ChargeBooked(
            loan_id=loan_id,
            charge_id=f"c-{penalty}",
            source_event_id=f"e-{penalty}",
            seq=1,
            component="penalty",
            amount_minor=penalty,
            currency="CNY",
            business_date=date(2026, 3, 14),
            balances=balances(SCHEDULE, penalty),
            loan_version=loan_version,
        ),
        source="ledger",
    )


async def test_a_run_of_charge_bookings_leaves_what_one_at_a_time_leaves() -> None:
    """Bookings out of order in one run: the newest version wins and an older one after it
    is ignored; one without a version applies over the running one and keeps its version.
    The same run one event per transaction leaves the same loan."""
    for run, version, penalty in (
        ([_penalty(3, 30), _penalty(4, 40), _penalty(2, 20)], 4, 40),
        ([_penalty(3, 30), _penalty(None, 35)], 3, 35),
        ([_penalty(1, 10)], 1, 0),  # the disbursement's version: ignored
    ):
        one, many = await world(), await world()
        for event in run:
            async with one:
                await CONSUMERS.by_type[event.type](one, event)
                await one.commit()
        batch = CONSUMERS.by_type[run[0].type]
        assert isinstance(batch, Batchable)
        async with many:
            await batch.many(many, run)
            await many.commit()
        loan = many.loans.rows["L-1"]
        assert loan == one.loans.rows["L-1"]
        assert (loan.ledger_version, loan.instalments[0].penalty_minor) == (version, penalty)


async def test_a_run_with_a_booking_of_an_unknown_loan_is_refused_as_a_whole() -> None:
    """The consumer then applies the run one at a time: the unknown loan's booking is a
    dead letter of its own."""
    uow = await world()
    batch = CONSUMERS.by_type["ledger.charge.booked.v1"]
    assert isinstance(batch, Batchable)
    with pytest.raises(RejectedEvent, match="L-404"):
        async with uow:
            await batch.many(uow, [_penalty(3, 30), _penalty(3, 30, loan_id="L-404")])


async def test_a_loan_seen_before_its_product_gets_the_terms_when_the_product_arrives() -> None:
    uow = FakeRestructureUnitOfWork()
    await deliver(uow, disbursed())
    assert uow.loans.rows["L-1"].terms is None
    await deliver(uow, product())
    assert uow.loans.rows["L-1"].terms is not None


async def test_charge_off_comes_from_the_overdue_stage_flag() -> None:
    uow = await world()
    await deliver(
        uow,
        overdue.StageChanged(
            loan_id="L-1",
            business_date=date(2026, 3, 14),
            from_stage="late",
            to_stage="legal",
            days_past_due=181,
            charge_off_candidate=True,
        ),
    )
    assert uow.loans.rows["L-1"].charged_off


async def test_a_request_quotes_every_type_and_offers_the_eligible_ones() -> None:
    uow = await world()
    quoted = await request(uow)
    assert quoted.expires_on == date(2026, 3, 22)
    eligible = {o.row.plan_type for o in quoted.options if o.row.eligible}
    assert eligible == {"payment_holiday", "term_extension", "promise_to_pay"}
    assert all(o.offer_id for o in quoted.options if o.row.eligible)
    refused = next(o for o in quoted.options if o.row.plan_type == "rate_reduction")
    assert refused.row.reasons == ("type_not_offered",)
    assert [e.request_id for e in uow.published(contract.HardshipRequested)] == [
        quoted.request.request_id
    ]
    assert len(uow.published(contract.QuoteIssued)) == 3
    assert len(uow.published(contract.OfferMade)) == 3


async def test_a_second_pending_request_for_the_loan_is_refused() -> None:
    uow = await world()
    await request(uow)
    with pytest.raises(PendingRequestExists):
        await request(uow)


async def test_another_borrower_does_not_see_the_loan() -> None:
    uow = await world()
    stranger = Principal("B-2", frozenset({Role.BORROWER}), borrower_id="B-2")
    with pytest.raises(LoanNotFound):
        await commands.request_hardship(uow, stranger, "L-1", "no")


async def test_accepting_twice_gives_one_plan_and_one_accepted_event() -> None:
    uow = await world()
    offer_id = offer_of(await request(uow), "term_extension")
    async with uow:
        first = await commands.accept_offer(uow, BORROWER, offer_id)
        again = await commands.accept_offer(uow, BORROWER, offer_id)
        await uow.commit()
    assert first.created and not again.created
    assert first.plan is not None and again.plan is not None
    assert first.plan.plan_id == again.plan.plan_id
    events = uow.published(contract.PlanAcceptedV2)
    assert len(events) == 1
    assert sum(i.principal_minor for i in events[0].instalments) == 1_200_000
    others = [o for o in uow.offers.rows.values() if o.offer_id != offer_id]
    assert {o.status for o in others} == {"withdrawn"}


async def test_accepting_after_the_offers_last_day_is_refused() -> None:
    uow = await world()
    offer_id = offer_of(await request(uow), "payment_holiday")
    day = date(2026, 3, 15)
    while day <= date(2026, 3, 22):  # the last day, 2026-03-22, is closed: today is 03-23
        await deliver(uow, closed(day))
        day += timedelta(days=1)
    assert uow.offers.rows[offer_id].status == "expired"
    assert offer_id in [e.offer_id for e in uow.published(contract.OfferExpired)]
    with pytest.raises(OfferHasExpired):
        await commands.accept_offer(uow, BORROWER, offer_id)


async def test_a_maker_cannot_approve_their_own_settlement() -> None:
    uow = await world(
        {
            "allowed_options": ["discounted_settlement"],
            "max_discount_bps": 2_000,
            "approval_threshold_minor": 1_000,
        },
        penalty=3_000,
    )
    terms = commands.OfferTerms(
        commands.PlanType.DISCOUNTED_SETTLEMENT, amount_minor=1_000_000, on=date(2026, 3, 29)
    )
    async with uow:
        offer = await commands.make_offer(uow, OPS_A, "L-1", terms)
        await uow.commit()
    assert (offer.status, offer.needs_approval) == ("pending_approval", True)
    assert uow.published(contract.OfferMade) == []  # not offered before the approval
    with pytest.raises(FourEyesViolation):
        await commands.approve_offer(uow, OPS_A, offer.offer_id)
    async with uow:
        approved = await commands.approve_offer(uow, OPS_B, offer.offer_id)
        await uow.commit()
    assert (approved.status, approved.approved_by) == ("open", "ops-b")
    assert [(s.step, s.actor) for s in uow.audit.steps if s.subject_id == offer.offer_id] == [
        ("made", "ops-a"),
        ("approved", "ops-b"),
    ]


async def _active_plan(uow: FakeRestructureUnitOfWork) -> Any:
    offer_id = offer_of(await request(uow), "term_extension")
    async with uow:
        result = await commands.accept_offer(uow, BORROWER, offer_id)
        await uow.commit()
    plan = result.plan
    assert plan is not None
    new = [
        InstalmentBalance(
            seq=i.seq,
            due_date=i.due_date,
            principal_minor=i.principal,
            interest_minor=i.interest,
            penalty_minor=0,
            fee_minor=0,
        )
        for i in plan.instalments
    ]
    await deliver(
        uow,
        ledger.ScheduleRewritten(
            loan_id="L-1",
            schedule_version=2,
            plan_id=plan.plan_id,
            reason="restructure",
            effective_date=date(2026, 3, 15),
            annual_rate="0.12",
            instalments=[
                InstalmentTerms(
                    seq=b.seq,
                    due_date=b.due_date,
                    principal_minor=b.principal_minor,
                    interest_minor=b.interest_minor,
                )
                for b in new
            ],
            balances=new,
            loan_version=5,
        ),
    )
    return plan


async def test_the_rewritten_schedule_activates_the_plan_and_starts_forbearance() -> None:
    uow = await world()
    plan = await _active_plan(uow)
    assert uow.plans.rows[plan.plan_id].status == "active"
    [activated] = uow.published(contract.PlanActivated)
    assert (activated.plan_id, activated.activated_on) == (plan.plan_id, date(2026, 3, 15))
    [forborne] = uow.published(contract.ForbearanceChanged)
    assert (forborne.event, forborne.status, forborne.probation_ends_on) == (
        "forbearance_started",
        "probation",
        date(2028, 3, 15),
    )


async def test_a_plan_instalment_missed_beyond_grace_breaks_the_plan() -> None:
    uow = await world()
    plan = await _active_plan(uow)
    first_due = plan.instalments[0].due_date  # 2026-04-01; grace 5 days: broken on 04-07
    day = date(2026, 3, 15)
    while day <= first_due + timedelta(days=5):
        await deliver(uow, closed(day))
        day += timedelta(days=1)
    assert uow.plans.rows[plan.plan_id].status == "active"
    await deliver(uow, closed(day))
    broken = uow.plans.rows[plan.plan_id]
    assert (broken.status, broken.broken_seq, broken.closed_on) == ("broken", 13, day)
    [event] = uow.published(contract.PlanBroken)
    assert (event.missed_seq, event.on_break) == (13, "resume_collections")


async def test_a_restoring_break_says_so_and_the_ledgers_restore_keeps_the_plan_broken() -> None:
    """A product with ``on_break: restore_original_terms``: the break carries it; the
    ledger's rewrite back to the original schedule (reason ``restore_original_terms``)
    activates nothing and puts the read model on the original instalments and rate."""
    uow = await world({"on_break": "restore_original_terms"})
    plan = await _active_plan(uow)
    day = date(2026, 3, 15)
    while uow.plans.rows[plan.plan_id].status == "active":
        await deliver(uow, closed(day))
        day += timedelta(days=1)
    [event] = uow.published(contract.PlanBroken)
    assert event.on_break == "restore_original_terms"
    restored = balances(SCHEDULE)
    await deliver(
        uow,
        ledger.ScheduleRewritten(
            loan_id="L-1",
            schedule_version=3,
            plan_id=plan.plan_id,
            reason="restore_original_terms",
            effective_date=date(2026, 3, 15),
            annual_rate="0.12",
            instalments=[
                InstalmentTerms(
                    seq=b.seq,
                    due_date=b.due_date,
                    principal_minor=b.principal_minor,
                    interest_minor=b.interest_minor,
                )
                for b in restored
            ],
            balances=restored,
            loan_version=9,
        ),
    )
    assert uow.plans.rows[plan.plan_id].status == "broken"
    assert len(uow.published(contract.PlanActivated)) == 1
    loan = uow.loans.rows["L-1"]
    assert loan.schedule_version == 3
    assert [i.seq for i in loan.instalments] == [b.seq for b in restored]


async def test_a_fully_paid_plan_completes() -> None:
    uow = await world()
    plan = await _active_plan(uow)
    await deliver(
        uow,
        ledger.PaymentAllocated(
            loan_id="L-1",
            payment_id="pay-all",
            value_date=date(2026, 3, 16),
            amount_minor=sum(i.total for i in plan.instalments),
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=[],
            loan_version=6,
        ),
    )
    assert uow.plans.rows[plan.plan_id].status == "completed"
    assert [e.plan_id for e in uow.published(contract.PlanCompleted)] == [plan.plan_id]


async def test_a_promise_paid_in_part_by_its_date_plus_grace_is_partly_kept() -> None:
    uow = await world()
    async with uow:
        promise_id = await commands.make_promise(
            uow, BORROWER, "L-1", promised_on=date(2026, 3, 20), amount_minor=50_000
        )
        await uow.commit()
    await deliver(
        uow,
        ledger.PaymentAllocated(
            loan_id="L-1",
            payment_id="part",
            value_date=date(2026, 3, 18),
            amount_minor=20_000,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=balances(SCHEDULE),
            loan_version=3,
        ),
    )
    day = date(2026, 3, 15)
    while day <= date(2026, 3, 23):  # promised 03-20, grace 2 days: resolved at 03-23
        await deliver(uow, closed(day))
        day += timedelta(days=1)
    row = uow.promises.rows[promise_id]
    assert (row.status, row.matched_minor) == ("partly_kept", 20_000)
    [resolved] = uow.published(contract.PromiseResolved)
    assert (resolved.outcome, resolved.resolved_on) == ("partly_kept", date(2026, 3, 23))
    # The day before its date, the promise fell due once, with what was still owed on it.
    [due] = uow.published(contract.PromiseFallingDue)
    assert (due.promise_id, due.business_date, due.promised_on) == (
        promise_id,
        date(2026, 3, 19),
        date(2026, 3, 20),
    )
    assert (due.amount_minor, due.remaining_minor, due.currency) == (50_000, 30_000, "CNY")


async def test_a_promise_taken_on_a_call_is_tracked_once_and_kept_by_a_payment() -> None:
    uow = await world()
    made = notifier.PromiseMade(
        promise_id="PR-call-1",
        loan_id="L-1",
        call_id="C-1",
        promised_on=date(2026, 3, 20),
        amount_minor=30_000,
        currency="CNY",
        made_at=datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
    )
    await deliver(uow, made)
    await deliver(uow, made)  # redelivered: nothing twice
    assert [p.promise_id for p in uow.published(contract.PromiseMade)] == ["PR-call-1"]
    assert uow.promises.rows["PR-call-1"].status == "open"
    await deliver(
        uow,
        ledger.PaymentAllocated(
            loan_id="L-1",
            payment_id="kept",
            value_date=date(2026, 3, 19),
            amount_minor=30_000,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=balances(SCHEDULE),
            loan_version=3,
        ),
    )
    day = date(2026, 3, 15)
    while day <= date(2026, 3, 23):
        await deliver(uow, closed(day))
        day += timedelta(days=1)
    [resolved] = uow.published(contract.PromiseResolved)
    assert (resolved.promise_id, resolved.outcome) == ("PR-call-1", "kept")
    assert uow.published(contract.PromiseFallingDue) == []  # kept before its date: no reminder


async def test_a_business_day_is_reviewed_once_every_partitions_marker_arrived() -> None:
    uow = await world()
    await deliver(uow, closed(date(2026, 3, 15), partition=0, partitions=2))
    assert await uow.today() == date(2026, 3, 15)
    await deliver(uow, closed(date(2026, 3, 15), partition=1, partitions=2))
    assert await uow.today() == date(2026, 3, 16)


async def test_accepting_after_the_principal_changed_since_the_quote_is_refused() -> None:
    uow = await world()
    offer_id = offer_of(await request(uow), "term_extension")
    await deliver(
        uow,
        ledger.PaymentAllocated(
            loan_id="L-1",
            payment_id="pay-1",
            value_date=date(2026, 3, 15),
            amount_minor=SCHEDULE[0].total,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=balances(SCHEDULE[1:]),
            loan_version=3,
        ),
    )
    with pytest.raises(StaleQuote):
        await commands.accept_offer(uow, BORROWER, offer_id)
    assert uow.published(contract.PlanAcceptedV2) == []


async def _accepted(uow: FakeRestructureUnitOfWork, plan_type: str) -> Any:
    offer_id = offer_of(await request(uow), plan_type)
    async with uow:
        result = await commands.accept_offer(uow, BORROWER, offer_id)
        await uow.commit()
    assert result.plan is not None
    return result.plan


def _booked(plan: Any, **settlement: Any) -> ledger.PlanBooked:
    return ledger.PlanBooked(
        loan_id="L-1",
        plan_id=plan.plan_id,
        plan_type=plan.plan_type,
        booked_on=date(2026, 3, 15),
        schedule_version=1,
        rewrote_schedule=False,
        **settlement,
    )


WAIVER_AND_SETTLEMENT = {
    "allowed_options": ["penalty_waiver", "discounted_settlement"],
    "max_discount_bps": 2_000,
    "approval_threshold_minor": 10_000_000,
}


async def test_a_booked_waiver_is_activated_and_completed_with_forbearance() -> None:
    uow = await world(WAIVER_AND_SETTLEMENT, penalty=3_000)
    plan = await _accepted(uow, "penalty_waiver")
    await deliver(uow, _booked(plan))
    row = uow.plans.rows[plan.plan_id]
    assert (row.status, row.activated_on, row.closed_on) == (
        "completed",
        date(2026, 3, 15),
        date(2026, 3, 15),
    )
    assert [e.plan_id for e in uow.published(contract.PlanActivated)] == [plan.plan_id]
    assert [e.plan_id for e in uow.published(contract.PlanCompleted)] == [plan.plan_id]
    [forborne] = uow.published(contract.ForbearanceChanged)
    assert (forborne.event, forborne.forborne_on) == ("forbearance_started", date(2026, 3, 15))
    # Done: the loan's late instalments do not break a completed waiver at close of business.
    await deliver(uow, closed(date(2026, 3, 15)))
    assert uow.plans.rows[plan.plan_id].status == "completed"
    assert uow.published(contract.PlanBroken) == []


async def test_a_booked_rewrite_is_left_to_the_rewritten_schedule() -> None:
    uow = await world()
    offer_id = offer_of(await request(uow), "term_extension")
    async with uow:
        result = await commands.accept_offer(uow, BORROWER, offer_id)
        await uow.commit()
    assert result.plan is not None
    booked = _booked(result.plan).model_copy(update={"rewrote_schedule": True})
    await deliver(uow, booked)
    assert uow.plans.rows[result.plan.plan_id].status == "accepted"
    assert uow.published(contract.PlanActivated) == []


async def _held_settlement(uow: FakeRestructureUnitOfWork) -> Any:
    plan = await _accepted(uow, "discounted_settlement")
    deadline = plan.instalments[0].due_date
    await deliver(
        uow,
        _booked(
            plan, settlement_amount_minor=plan.instalments[0].total, settlement_deadline=deadline
        ),
    )
    assert uow.plans.rows[plan.plan_id].status == "accepted"  # held until paid or lapsed
    assert [s.step for s in uow.audit.steps if s.subject_id == plan.plan_id][-1] == "held"
    return plan


async def test_a_settlement_paid_in_time_completes_the_plan() -> None:
    uow = await world(WAIVER_AND_SETTLEMENT, penalty=3_000)
    plan = await _held_settlement(uow)
    # The ledger closes the loan on the settlement: its rewrite activates nothing.
    await deliver(
        uow,
        ledger.ScheduleRewritten(
            loan_id="L-1",
            schedule_version=2,
            plan_id=plan.plan_id,
            reason="discounted_settlement",
            effective_date=date(2026, 3, 20),
            annual_rate="0.12",
            instalments=[],
            balances=[],
            loan_version=5,
        ),
    )
    assert uow.plans.rows[plan.plan_id].status == "accepted"
    await deliver(
        uow,
        ledger.SettlementCompleted(
            loan_id="L-1",
            plan_id=plan.plan_id,
            completed_on=date(2026, 3, 20),
            paid_minor=plan.instalments[0].total,
            written_off_principal_minor=1_000,
            schedule_version=2,
        ),
    )
    row = uow.plans.rows[plan.plan_id]
    assert (row.status, row.activated_on, row.closed_on) == (
        "completed",
        date(2026, 3, 20),
        date(2026, 3, 20),
    )
    [completed] = uow.published(contract.PlanCompleted)
    assert (completed.plan_id, completed.completed_on) == (plan.plan_id, date(2026, 3, 20))
    assert uow.published(contract.ForbearanceChanged) == []  # the loan is closed


async def test_a_reversed_settlement_closes_the_completed_plan_as_reversed() -> None:
    uow = await world(WAIVER_AND_SETTLEMENT, penalty=3_000)
    plan = await _held_settlement(uow)
    total = plan.instalments[0].total
    completed = ledger.SettlementCompleted(
        loan_id="L-1",
        plan_id=plan.plan_id,
        completed_on=date(2026, 3, 20),
        paid_minor=total,
        written_off_principal_minor=1_000,
        schedule_version=2,
    )
    await deliver(uow, completed)
    assert uow.plans.rows[plan.plan_id].status == "completed"
    published = len(uow.committed_events)
    voided = ledger.SettlementReversed(
        loan_id="L-1",
        plan_id=plan.plan_id,
        payment_id="P-9",
        reversed_on=date(2026, 3, 22),
        paid_minor=total - 500,
        amount_minor=total,
        schedule_version=3,
    )
    await deliver(uow, voided)
    row = uow.plans.rows[plan.plan_id]
    assert (row.status, row.closed_on) == ("reversed", date(2026, 3, 22))
    step = [s for s in uow.audit.steps if s.subject_id == plan.plan_id][-1]
    assert step.step == "reversed"
    assert step.detail == {"payment_id": "P-9", "paid_minor": total - 500, "amount_minor": total}
    assert len(uow.committed_events) == published  # the ledger's event is the fact
    assert await uow.plans.open_for("L-1") is None  # the loan may ask again
    # Redelivered: nothing more happens.
    await deliver(uow, voided)
    assert [s.step for s in uow.audit.steps if s.subject_id == plan.plan_id].count("reversed") == 1


async def test_a_settlement_not_paid_by_its_deadline_lapses() -> None:
    uow = await world(WAIVER_AND_SETTLEMENT, penalty=3_000)
    plan = await _held_settlement(uow)
    await deliver(
        uow,
        ledger.SettlementLapsed(
            loan_id="L-1",
            plan_id=plan.plan_id,
            deadline=plan.instalments[0].due_date,
            lapsed_on=plan.instalments[0].due_date,
            paid_minor=10_000,
            amount_minor=plan.instalments[0].total,
        ),
    )
    row = uow.plans.rows[plan.plan_id]
    assert (row.status, row.activated_on, row.closed_on) == (
        "lapsed",
        None,
        plan.instalments[0].due_date,
    )
    assert uow.published(contract.PlanActivated) == []
    assert uow.published(contract.PlanCompleted) == []
    assert [s.step for s in uow.audit.steps if s.subject_id == plan.plan_id][-1] == "lapsed"
    # The loan may ask again: no plan is open.
    assert await uow.plans.open_for("L-1") is None
