"""The overdue service's main use cases on an in-memory unit of work (no servers): the
ledger's facts tracked, balances replaced (an older ``loan_version`` ignored), cure after a
payment, pause and resume, a waiver refused, and facts about unknown loans refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from lendkit.consumer import Batchable, RejectedEvent
from lendkit.contracts import ledger, notifier, restructure
from lendkit.contracts import overdue as contract
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.events import CloudEvent, EventPayload, new_event
from overdue.domain.credit_report import CreditReportGate, GateStatus
from overdue.domain.errors import LoanNotFound, NoBusinessDayClosed, WaiverNotAllowed
from overdue.domain.escalation import Stage
from overdue.domain.penalty import PenaltyState
from overdue.domain.waiver import AssessedDay
from overdue.entrypoints.consumers import CONSUMERS
from overdue.service_layer import commands, handlers

from .fakes import FakeOverdueUnitOfWork

LOAN, BORROWER, PRODUCT = "L1", "B1", "P1"
POLICY: dict[str, Any] = {
    "arrears_grace_days": 3,
    "penalty_grace_days": 0,
    "penalty_daily_rate": "0.0005",
    "penalty_base": "overdue_principal",
    "absolute_penalty_cap_minor": 1_000,
}
TERMS = [
    InstalmentTerms(
        seq=1, due_date=date(2026, 2, 15), principal_minor=76_680, interest_minor=15_000
    ),
    InstalmentTerms(
        seq=2, due_date=date(2026, 3, 15), principal_minor=77_830, interest_minor=13_850
    ),
    InstalmentTerms(
        seq=3, due_date=date(2026, 4, 15), principal_minor=78_998, interest_minor=12_682
    ),
]


def event(payload: EventPayload) -> CloudEvent:
    return new_event(payload, source="/tests/ledger")


def balances(first_open: int) -> list[InstalmentBalance]:
    return [
        InstalmentBalance(
            seq=t.seq,
            due_date=t.due_date,
            principal_minor=t.principal_minor,
            interest_minor=t.interest_minor,
            penalty_minor=0,
            fee_minor=0,
        )
        for t in TERMS
        if t.seq >= first_open
    ]


def product(policy: dict[str, Any] | None = None) -> ledger.ProductPublished:
    return ledger.ProductPublished(
        code=PRODUCT,
        currency="CNY",
        annual_rate="0.18",
        day_count="30/360",
        term=3,
        frequency="monthly",
        schedule_type="annuity",
        rounding="half_even",
        allocation_strategy="oldest_first",
        allocation_components=["penalty", "fee", "interest", "principal"],
        reminder_days_before=[3, 1],
        overdue_policy=POLICY if policy is None else policy,
    )


def disbursed() -> ledger.LoanDisbursed:
    return ledger.LoanDisbursed(
        loan_id=LOAN,
        borrower_id=BORROWER,
        product_code=PRODUCT,
        currency="CNY",
        principal_minor=1_000_000,
        annual_rate="0.18",
        disbursed_on=date(2026, 1, 15),
        timezone="Asia/Shanghai",
        instalments=TERMS,
        loan_version=1,
    )


def allocated(
    value_date: date, first_open: int, loan_version: int | None, loan_id: str = LOAN
) -> ledger.PaymentAllocated:
    return ledger.PaymentAllocated(
        loan_id=loan_id,
        payment_id=f"pay-{value_date}-{loan_version}",
        value_date=value_date,
        amount_minor=91_680,
        currency="CNY",
        lines=[],
        credit_minor=0,
        credit_balance_minor=0,
        balances=balances(first_open),
        loan_version=loan_version,
    )


async def tracked_loan() -> FakeOverdueUnitOfWork:
    """A unit of work that has seen the product and the disbursement."""
    uow = FakeOverdueUnitOfWork()
    async with uow:
        await handlers.on_product_published(uow, event(product()))
        await handlers.on_loan_disbursed(uow, event(disbursed()))
        await uow.commit()
    return uow


async def test_a_disbursed_loan_is_tracked_once_with_its_schedule() -> None:
    uow = await tracked_loan()
    loan = uow.loans.rows[LOAN]
    assert (loan.borrower_id, loan.product_code, loan.principal_minor) == (
        BORROWER,
        PRODUCT,
        1_000_000,
    )
    assert loan.oldest_unpaid_due_date == date(2026, 2, 15)
    assert loan.ledger_version == 1 and not loan.paused and loan.bucket == "current"
    assert sorted(uow.loans.instalments[LOAN]) == [1, 2, 3]

    async with uow:  # a replayed disbursement changes nothing
        uow.loans.instalments[LOAN][1].principal_minor = 0
        await handlers.on_loan_disbursed(uow, event(disbursed()))
    assert uow.loans.instalments[LOAN][1].principal_minor == 0


async def test_repayment_due_replaces_its_instalment_only() -> None:
    uow = await tracked_loan()
    due = balances(2)[0]
    async with uow:
        await handlers.on_repayment_due(
            uow,
            event(
                ledger.RepaymentDue(
                    loan_id=LOAN,
                    borrower_id=BORROWER,
                    seq=2,
                    due_date=due.due_date,
                    amount_due_minor=91_680,
                    currency="CNY",
                    balance=due.model_copy(update={"fee_minor": 500}),
                    business_date=date(2026, 3, 12),
                )
            ),
        )
    rows = uow.loans.instalments[LOAN]
    assert rows[2].fee_minor == 500
    assert rows[1].principal_minor == 76_680  # not named: untouched (not a complete list)


async def test_payment_allocated_replaces_balances_and_an_older_version_is_ignored() -> None:
    uow = await tracked_loan()
    async with uow:
        await handlers.on_payment_allocated(uow, event(allocated(date(2026, 2, 15), 2, 3)))
    loan = uow.loans.rows[LOAN]
    assert uow.loans.instalments[LOAN][1].principal_minor == 0  # not named: settled
    assert loan.oldest_unpaid_due_date == date(2026, 3, 15) and loan.ledger_version == 3

    async with uow:  # a replayed older event: no balance changes, no version rolls back
        await handlers.on_payment_allocated(uow, event(allocated(date(2026, 3, 15), 3, 2)))
    assert uow.loans.instalments[LOAN][2].principal_minor == 77_830
    assert uow.loans.rows[LOAN].ledger_version == 3
    assert uow.loans.rows[LOAN].oldest_unpaid_due_date == date(2026, 3, 15)


async def test_a_payment_clearing_the_arrears_cures_the_loan() -> None:
    uow = await tracked_loan()
    async with uow:
        await handlers.on_payment_allocated(uow, event(allocated(date(2026, 2, 15), 2, 2)))
        await uow.commit()
    # close of business had put the loan in arrears, 1-30, reminder stage
    uow.loans.rows[LOAN] = replace(
        uow.loans.rows[LOAN], bucket="1-30", stage=Stage.REMINDER.value, in_arrears=True
    )
    async with uow:
        await handlers.on_payment_allocated(uow, event(allocated(date(2026, 3, 20), 3, 3)))
        await uow.commit()

    assert uow.published(contract.LoanCured) == [
        contract.LoanCured(
            loan_id=LOAN,
            business_date=date(2026, 3, 20),
            previous_bucket="1-30",
            previous_days_past_due=5,
        )
    ]
    (bucket,) = uow.published(contract.BucketChanged)
    assert (bucket.from_bucket, bucket.to_bucket, bucket.days_past_due) == ("1-30", "current", 0)
    (stage,) = uow.published(contract.StageChanged)
    assert (stage.from_stage, stage.to_stage) == ("reminder", "current")
    loan = uow.loans.rows[LOAN]
    assert (loan.bucket, loan.stage, loan.in_arrears) == ("current", "current", False)
    assert uow.history.bucket_changes == [(LOAN, date(2026, 3, 20), "1-30", "current", 0)]
    assert uow.history.stage_changes == [(LOAN, date(2026, 3, 20), "reminder", "current", 0)]


async def test_pause_and_resume_once_each() -> None:
    uow = await tracked_loan()
    async with uow:
        first = await commands.pause(uow, LOAN, reason="hardship", actor="ops-1")
        again = await commands.pause(uow, LOAN, reason="hardship", actor="ops-1")
        await uow.commit()
    assert first == commands.PauseResult(LOAN, paused=True, changed=True)
    assert again == commands.PauseResult(LOAN, paused=True, changed=False)
    assert uow.loans.rows[LOAN].paused and uow.loans.rows[LOAN].pause_reason == "hardship"
    assert uow.published(contract.DelinquencyPaused) == [
        contract.DelinquencyPaused(loan_id=LOAN, reason="hardship", paused_by="ops-1")
    ]

    async with uow:
        resumed = await commands.resume(uow, LOAN, reason="plan agreed", actor="ops-2")
        await uow.commit()
    assert resumed == commands.PauseResult(LOAN, paused=False, changed=True)
    assert not uow.loans.rows[LOAN].paused
    (event_,) = uow.published(contract.DelinquencyResumed)
    assert (event_.reason, event_.resumed_by) == ("plan agreed", "ops-2")


async def test_an_accepted_plan_pauses_and_its_rewrite_resumes() -> None:
    uow = await tracked_loan()
    async with uow:
        await handlers.on_plan_accepted(
            uow,
            event(
                restructure.PlanAccepted(
                    plan_id="plan-1",
                    loan_id=LOAN,
                    option="extend",
                    effective_date=date(2026, 3, 20),
                    first_due_date=date(2026, 4, 15),
                    new_term=6,
                    new_annual_rate="0.18",
                )
            ),
        )
        await uow.commit()
    assert uow.loans.rows[LOAN].paused
    (paused,) = uow.published(contract.DelinquencyPaused)
    assert (paused.plan_id, paused.paused_by) == ("plan-1", "restructure")


async def test_pausing_an_unknown_loan_is_not_found() -> None:
    uow = await tracked_loan()
    async with uow:
        with pytest.raises(LoanNotFound):
            await commands.pause(uow, "nope", reason="x", actor="ops-1")


async def test_a_waiver_larger_than_the_penalty_owed_is_refused_and_changes_nothing() -> None:
    uow = await tracked_loan()
    uow.loans.rows[LOAN] = replace(
        uow.loans.rows[LOAN],
        penalty=PenaltyState(date(2026, 3, 18), assessed_to_date_minor=117),
    )
    for on in (date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)):
        uow.waivers.penalty_days.append((LOAN, AssessedDay(on, 2, 77_830, 39)))
    uow.days.closed.add(date(2026, 3, 18))
    async with uow:
        with pytest.raises(WaiverNotAllowed, match="exceeds the penalty owed"):
            await commands.waive_penalty(
                uow,
                LOAN,
                amount_minor=118,
                reason="goodwill",
                waived_by="ops-1",
                business_date=None,
            )
    assert WaiverNotAllowed.status == 422 and WaiverNotAllowed.title == "Waiver not allowed"
    assert uow.waivers.rows == [] and uow.committed_events == []
    assert uow.loans.rows[LOAN].penalty.waived_to_date_minor == 0

    async with uow:  # what is owed can be waived, oldest day first
        waived = await commands.waive_penalty(
            uow, LOAN, amount_minor=50, reason="goodwill", waived_by="ops-1", business_date=None
        )
        await uow.commit()
    assert waived.business_date == date(2026, 3, 18) and waived.penalty_owed_minor == 67
    assert sum(p.amount_minor for p in waived.parts) == 50
    assert sum(e.amount_minor for e in uow.published(contract.PenaltyWaived)) == 50
    assert uow.loans.rows[LOAN].penalty.waived_to_date_minor == 50


async def test_a_waiver_before_any_closed_day_needs_a_business_date() -> None:
    uow = await tracked_loan()
    async with uow:
        with pytest.raises(NoBusinessDayClosed):
            await commands.waive_penalty(
                uow, LOAN, amount_minor=1, reason="x", waived_by="ops-1", business_date=None
            )


@pytest.mark.parametrize(
    "payload",
    [
        allocated(date(2026, 2, 15), 2, 2, loan_id="unknown"),
        ledger.RepaymentDue(
            loan_id="unknown",
            borrower_id=BORROWER,
            seq=1,
            due_date=date(2026, 2, 15),
            amount_due_minor=1,
            currency="CNY",
            balance=balances(1)[0],
            business_date=date(2026, 2, 12),
        ),
    ],
)
async def test_a_fact_about_an_unknown_loan_is_rejected(payload: EventPayload) -> None:
    uow = FakeOverdueUnitOfWork()
    async with uow:
        with pytest.raises(RejectedEvent, match="loan unknown is not known"):
            await CONSUMERS.handlers[type(payload)](uow, event(payload))


async def test_an_invalid_product_policy_is_rejected_and_never_stored() -> None:
    uow = FakeOverdueUnitOfWork()
    async with uow:
        with pytest.raises(RejectedEvent, match="InvalidPolicy"):
            await handlers.on_product_published(
                uow, event(product({**POLICY, "penalty_daily_rate": 0.0005}))
            )
    assert uow.products.rows == {}


def plan_v2(plan_type: str, plan_id: str = "plan-2") -> restructure.PlanAcceptedV2:
    return restructure.PlanAcceptedV2(
        plan_id=plan_id,
        loan_id=LOAN,
        plan_type=plan_type,
        currency="CNY",
        effective_date=date(2026, 3, 20),
        new_annual_rate="0.18",
        rewrites_schedule=plan_type not in ("penalty_waiver", "promise_to_pay"),
        outstanding_principal_minor=233_508,
        instalments=TERMS,
    )


async def _accept(uow: FakeOverdueUnitOfWork, plan: restructure.PlanAcceptedV2) -> None:
    async with uow:
        await handlers.on_plan_accepted_v2(uow, event(plan))
        await uow.commit()


async def test_a_lapsed_settlement_resumes_collections() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("discounted_settlement"))
    assert uow.loans.rows[LOAN].paused
    async with uow:
        await handlers.on_plan_booked(
            uow,
            event(
                ledger.PlanBooked(
                    loan_id=LOAN,
                    plan_id="plan-2",
                    plan_type="discounted_settlement",
                    booked_on=date(2026, 3, 20),
                    schedule_version=1,
                    rewrote_schedule=False,
                    settlement_amount_minor=150_000,
                    settlement_deadline=date(2026, 4, 3),
                )
            ),
        )
        await uow.commit()
    assert uow.loans.rows[LOAN].paused  # held: still paused until paid or lapsed
    async with uow:
        await handlers.on_settlement_lapsed(
            uow,
            event(
                ledger.SettlementLapsed(
                    loan_id=LOAN,
                    plan_id="plan-2",
                    deadline=date(2026, 4, 3),
                    lapsed_on=date(2026, 4, 3),
                    paid_minor=100_000,
                    amount_minor=150_000,
                )
            ),
        )
        await uow.commit()
    assert not uow.loans.rows[LOAN].paused
    (resumed,) = uow.published(contract.DelinquencyResumed)
    assert resumed.reason == "plan plan-2 settlement lapsed"


async def test_a_cancelled_plan_resumes_collections() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("discounted_settlement"))
    assert uow.loans.rows[LOAN].paused
    async with uow:
        await handlers.on_plan_cancelled(
            uow,
            event(
                restructure.PlanCancelled(
                    plan_id="plan-2",
                    loan_id=LOAN,
                    plan_type="discounted_settlement",
                    cancelled_on=date(2026, 3, 21),
                )
            ),
        )
        await uow.commit()
    assert not uow.loans.rows[LOAN].paused
    (resumed,) = uow.published(contract.DelinquencyResumed)
    assert resumed.reason == "plan plan-2 cancelled on 2026-03-21"


async def test_a_waiver_plan_booked_without_a_rewrite_resumes_collections() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("penalty_waiver"))
    assert uow.loans.rows[LOAN].paused
    async with uow:
        await handlers.on_plan_booked(
            uow,
            event(
                ledger.PlanBooked(
                    loan_id=LOAN,
                    plan_id="plan-2",
                    plan_type="penalty_waiver",
                    booked_on=date(2026, 3, 20),
                    schedule_version=1,
                    rewrote_schedule=False,
                )
            ),
        )
        await uow.commit()
    assert not uow.loans.rows[LOAN].paused


async def test_a_promise_to_pay_does_not_pause_collections() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("promise_to_pay"))
    assert not uow.loans.rows[LOAN].paused
    assert not uow.published(contract.DelinquencyPaused)


def rewritten(plan_id: str = "plan-2") -> CloudEvent:
    """The ledger's re-aged schedule for ``plan_id``: 3 instalments from 2026-04-15."""
    new_terms = [
        InstalmentTerms(
            seq=4 + n, due_date=date(2026, 4 + n, 15), principal_minor=p, interest_minor=0
        )
        for n, p in enumerate((78_000, 78_000, 77_508))
    ]
    return event(
        ledger.ScheduleRewritten(
            loan_id=LOAN,
            schedule_version=2,
            plan_id=plan_id,
            reason="term_extension",
            effective_date=date(2026, 3, 20),
            annual_rate="0.18",
            instalments=new_terms,
            balances=[
                InstalmentBalance(
                    seq=t.seq,
                    due_date=t.due_date,
                    principal_minor=t.principal_minor,
                    interest_minor=0,
                    penalty_minor=0,
                    fee_minor=0,
                )
                for t in new_terms
            ],
            loan_version=5,
        )
    )


async def test_a_re_aged_schedule_cures_the_loan_and_ends_the_plan_pause() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("term_extension"))
    uow.loans.rows[LOAN] = replace(
        uow.loans.rows[LOAN], bucket="1-30", stage=Stage.REMINDER.value, in_arrears=True
    )
    async with uow:
        await handlers.on_schedule_rewritten(uow, rewritten())
        await uow.commit()
    loan = uow.loans.rows[LOAN]
    assert not loan.paused and not loan.in_arrears and loan.bucket == "current"
    (cured,) = uow.published(contract.LoanCured)
    assert cured.business_date == date(2026, 3, 20)


def broken(plan_id: str = "plan-2") -> CloudEvent:
    return event(
        restructure.PlanBroken(
            plan_id=plan_id,
            loan_id=LOAN,
            broken_on=date(2026, 4, 21),
            missed_seq=1,
            on_break="resume_collections",
        )
    )


async def test_a_broken_plan_ends_its_pause_and_collections_resume() -> None:
    uow = await tracked_loan()
    await _accept(uow, plan_v2("term_extension"))
    assert uow.loans.rows[LOAN].paused
    async with uow:
        await CONSUMERS.by_type["restructure.plan.broken.v1"](uow, broken())
        await uow.commit()
    assert not uow.loans.rows[LOAN].paused
    (resumed,) = uow.published(contract.DelinquencyResumed)
    assert (resumed.reason, resumed.resumed_by) == (
        "plan plan-2 broken on 2026-04-21 (instalment 1 missed)",
        "restructure",
    )
    async with uow:  # a replay (or a break after the rewrite ended the pause) changes nothing
        await CONSUMERS.by_type["restructure.plan.broken.v1"](uow, broken())
        await uow.commit()
    assert len(uow.published(contract.DelinquencyResumed)) == 1


async def test_a_broken_plan_does_not_end_a_pause_operations_set() -> None:
    uow = await tracked_loan()
    async with uow:
        await commands.pause(uow, LOAN, reason="dispute", actor="ops-1")
        await uow.commit()
    async with uow:
        await CONSUMERS.by_type["restructure.plan.broken.v1"](uow, broken())
        await uow.commit()
    assert uow.loans.rows[LOAN].paused
    assert uow.published(contract.DelinquencyResumed) == []


@pytest.mark.parametrize("outcome", ["rewritten", "broken"])
async def test_an_acceptance_read_after_its_plans_outcome_does_not_pause_the_loan(
    outcome: str,
) -> None:
    """The acceptance is on ``restructure.plans``, the ledger's rewrite on ``ledger.loans``:
    Kafka orders nothing across topics. Read the other way round, the acceptance paused the
    loan after its rewrite, until the plan broke, and close of business skipped it."""
    uow = await tracked_loan()
    first = rewritten() if outcome == "rewritten" else broken()
    async with uow:
        await CONSUMERS.by_type[first.type](uow, first)
        await uow.commit()
    await _accept(uow, plan_v2("term_extension"))
    assert not uow.loans.rows[LOAN].paused
    assert uow.published(contract.DelinquencyPaused) == []
    await _accept(uow, plan_v2("term_extension", plan_id="plan-3"))  # a later plan still does
    assert uow.loans.rows[LOAN].paused


def delivered(purpose: str, on: date) -> CloudEvent:
    return event(
        notifier.MessageDelivered(
            loan_id=LOAN,
            message_id=f"m-{purpose}-{on}",
            purpose=purpose,
            channel="sms",
            delivered_on=on,
        )
    )


async def test_a_run_of_delivery_receipts_applies_in_one_transaction_with_the_same_effect() -> None:
    """Every message the notifier delivers comes back as a receipt (most of the overdue
    consumer's input on a busy day: one a message), and only a credit-report notice's has
    an effect. A run of them applies in one transaction, as a run of ledger events does."""
    handler = CONSUMERS.by_type["notifier.message.delivered.v1"]
    assert isinstance(handler, Batchable)
    uow = await tracked_loan()
    uow.loans.rows[LOAN] = replace(
        uow.loans.rows[LOAN],
        gate=CreditReportGate(status=GateStatus.NOTICE_DUE, notice_due_on=date(2026, 4, 14)),
    )
    run = [
        delivered("overdue_reminder", date(2026, 4, 14)),
        delivered("credit_report_notice", date(2026, 4, 15)),
        delivered("overdue_reminder", date(2026, 4, 16)),
    ]
    commits = uow.commits
    async with uow:
        await handler.many(uow, run)
        await uow.commit()
    assert uow.commits == commits + 1
    gate = uow.loans.rows[LOAN].gate
    assert (gate.status, gate.notice_delivered_on) == (
        GateStatus.NOTICE_DELIVERED,
        date(2026, 4, 15),
    )
