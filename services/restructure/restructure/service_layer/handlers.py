"""One handler per consumed fact: ``async def on_<fact>(uow, event) -> None``.

The loan read model (terms, open instalments, payments, DPD and charge-off) is fed from
``ledger.products``, ``ledger.loans`` and ``overdue.loans``, so quotes are computed from
facts the service has seen. Balances are replaced from the ledger's events (each carries
every open instalment after the change); an event whose ``loan_version`` is older than
what was applied changes nothing. ``ledger.schedule.rewritten`` for a plan activates it
(and starts forbearance); ``ledger.plan.booked`` completes a waiver and holds a settlement,
``ledger.settlement.completed`` completes it, ``ledger.settlement.lapsed`` lapses it,
``ledger.settlement.reversed`` closes it as reversed; payments complete a plan; the
close-of-business markers run the business day here (``business_day``): offers expire, missed plan instalments break plans,
promises resolve, forbearance clocks move.

Refusals (a loan never seen, an invalid policy) become dead letters through ``@rejecting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from lendkit.consumer import rejecting
from lendkit.contracts import ledger, notifier, overdue
from lendkit.contracts.money import InstalmentBalance
from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.errors import NotFound
from lendkit.events import CloudEvent
from lendkit.logging import get_logger
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType
from restructure.adapters.records import LoanView, OpenInstalment, is_stale
from restructure.domain.promises import Promise
from restructure.service_layer.business_day import review_business_day
from restructure.service_layer.commands import record_promise
from restructure.service_layer.monitoring import (
    activate_plan,
    plan_booked,
    review_open_plan,
    settlement_completed,
    settlement_lapsed,
    settlement_reversed,
)
from restructure.service_layer.unit_of_work import RestructureUnitOfWork

log = get_logger(__name__)


class UnknownLoan(NotFound):
    """A fact about a loan whose disbursement was never seen."""


def _enum_value(kind: type[StrEnum], value: str) -> str | None:
    for candidate in (value, value.upper(), value.upper().replace("/", "_")):
        try:
            return kind(candidate).value
        except ValueError:
            continue
    if value.replace(" ", "") in ("30/360", "30E/360"):
        return DayCount.THIRTY_360.value
    return None


def product_terms(product: ledger.ProductPublished) -> dict[str, str]:
    """The schedule terms of a product, in the kit's names (empty if any is unknown)."""
    terms = {
        "schedule_type": _enum_value(ScheduleType, product.schedule_type),
        "frequency": _enum_value(Frequency, product.frequency),
        "day_count": _enum_value(DayCount, product.day_count),
        "rounding": _enum_value(Rounding, product.rounding),
    }
    if any(v is None for v in terms.values()):
        return {}
    return {k: v for k, v in terms.items() if v is not None}


def open_instalments(balances: Sequence[InstalmentBalance]) -> list[OpenInstalment]:
    return [
        OpenInstalment(
            b.seq, b.due_date, b.principal_minor, b.interest_minor, b.penalty_minor, b.fee_minor
        )
        for b in balances
    ]


async def _known_loan(uow: RestructureUnitOfWork, loan_id: str) -> LoanView:
    loan = await uow.loans.get(loan_id, lock=True)
    if loan is None:
        raise UnknownLoan(f"loan {loan_id} is not known (no disbursement seen)")
    return loan


@rejecting(ValueError)
async def on_product_published(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """Keep the product's restructure policy (parsed with the published schema, stored in
    full) and its schedule terms."""
    product = event.payload(ledger.ProductPublished)
    policy = RestructurePolicySpec.model_validate(product.restructure_policy)
    await uow.products.save(
        product.code, product.currency, policy.model_dump(mode="json"), product_terms(product)
    )


async def on_loan_disbursed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    loan = event.payload(ledger.LoanDisbursed)
    added = await uow.loans.add(
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        product_code=loan.product_code,
        currency=loan.currency,
        annual_rate=loan.annual_rate,
        disbursed_on=loan.disbursed_on,
        terms=await uow.products.terms_of(loan.product_code),
        ledger_version=loan.loan_version,
    )
    if not added:
        return
    await uow.loans.replace_instalments(
        loan.loan_id,
        [
            OpenInstalment(i.seq, i.due_date, i.principal_minor, i.interest_minor)
            for i in loan.instalments
        ],
        loan_version=loan.loan_version,
    )


async def _replace(
    uow: RestructureUnitOfWork,
    loan: LoanView,
    balances: Sequence[InstalmentBalance],
    loan_version: int | None,
) -> bool:
    if loan.is_stale(loan_version):
        log.info("older ledger event ignored", loan_id=loan.loan_id, loan_version=loan_version)
        return False
    await uow.loans.replace_instalments(
        loan.loan_id, open_instalments(balances), loan_version=loan_version
    )
    return True


@rejecting()
async def on_payment_allocated(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """New balances; a payment counts towards ``min_payments_made`` and promises; a plan
    whose instalments are all paid completes."""
    allocated = event.payload(ledger.PaymentAllocated)
    loan = await _known_loan(uow, allocated.loan_id)
    await uow.loans.record_payment(
        loan.loan_id, allocated.payment_id, allocated.value_date, allocated.amount_minor
    )
    if await _replace(uow, loan, allocated.balances, allocated.loan_version):
        await review_open_plan(uow, loan.loan_id, allocated.value_date, completion_only=True)


@rejecting()
async def on_payment_reversed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    reversed_ = event.payload(ledger.PaymentReversed)
    loan = await _known_loan(uow, reversed_.loan_id)
    await uow.loans.reverse_payment(loan.loan_id, reversed_.payment_id)
    await _replace(uow, loan, reversed_.balances, reversed_.loan_version)


@rejecting()
async def on_charges_booked(uow: RestructureUnitOfWork, events: list[CloudEvent]) -> None:
    """A run of charge bookings (a close of business's penalties: one per overdue loan and
    day) set-based: the loans locked in one statement, and each loan's open instalments
    replaced by those of its newest booking not older than what is applied (an older one is
    ignored, as one at a time), in three statements for the run. A loan never disbursed
    fails the run, whose bookings are then applied one at a time (its own is a dead
    letter)."""
    charges = [e.payload(ledger.ChargeBooked) for e in events]
    versions = await uow.loans.ledger_versions([c.loan_id for c in charges])
    changes: dict[str, tuple[list[OpenInstalment], int | None]] = {}
    for charge in charges:
        if charge.loan_id not in versions:
            raise UnknownLoan(f"loan {charge.loan_id} is not known (no disbursement seen)")
        applied = versions[charge.loan_id]
        if is_stale(charge.loan_version, applied):
            log.info(
                "older ledger event ignored",
                loan_id=charge.loan_id,
                loan_version=charge.loan_version,
            )
            continue
        if charge.loan_version is not None:
            versions[charge.loan_id] = charge.loan_version
        changes[charge.loan_id] = (open_instalments(charge.balances), versions[charge.loan_id])
    await uow.loans.replace_many_instalments(changes)


@rejecting()
async def on_schedule_rewritten(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """The new schedule replaces the old; the plan it was written for becomes active."""
    rewrite = event.payload(ledger.ScheduleRewritten)
    loan = await _known_loan(uow, rewrite.loan_id)
    if not await _replace(uow, loan, rewrite.balances, rewrite.loan_version):
        return
    await uow.loans.set_rewritten(
        loan.loan_id, annual_rate=rewrite.annual_rate, schedule_version=rewrite.schedule_version
    )
    await activate_plan(uow, loan, rewrite)


@rejecting()
async def on_plan_booked(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """A plan booked without a rewrite: a waiver completes, a settlement is held (a rewrite
    activates on ``ledger.schedule.rewritten``)."""
    booked = event.payload(ledger.PlanBooked)
    if booked.rewrote_schedule:
        return
    await plan_booked(uow, await _known_loan(uow, booked.loan_id), booked)


@rejecting()
async def on_settlement_completed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    await settlement_completed(uow, event.payload(ledger.SettlementCompleted))


@rejecting()
async def on_settlement_lapsed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    await settlement_lapsed(uow, event.payload(ledger.SettlementLapsed))


@rejecting()
async def on_settlement_reversed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    await settlement_reversed(uow, event.payload(ledger.SettlementReversed))


@rejecting()
async def on_business_day_closed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    marker = event.payload(ledger.BusinessDayClosed)
    if await uow.days.record_marker(marker.business_date, marker.partition, marker.partitions):
        await review_business_day(uow, marker.business_date)


async def on_became_overdue(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.LoanBecameOverdue)
    await uow.loans.set_delinquency(fact.loan_id, dpd=fact.days_past_due)


async def on_bucket_changed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.BucketChanged)
    await uow.loans.set_delinquency(fact.loan_id, dpd=fact.days_past_due)


async def on_loan_cured(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.LoanCured)
    await uow.loans.set_delinquency(fact.loan_id, dpd=0)


async def on_stage_changed(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """The overdue service's charge-off candidate flag is the charge-off fact we have."""
    fact = event.payload(overdue.StageChanged)
    await uow.loans.set_delinquency(
        fact.loan_id, dpd=fact.days_past_due, charged_off=fact.charge_off_candidate
    )


@rejecting()
async def on_promise_made_on_a_call(uow: RestructureUnitOfWork, event: CloudEvent) -> None:
    """A promise to pay the call centre took (``notifier.promise.made``): tracked like one
    stated through REST (matched to payments oldest first, resolved with the product's
    tolerance), its id the notifier's, so a redelivery records nothing twice."""
    made = event.payload(notifier.PromiseMade)
    loan = await _known_loan(uow, made.loan_id)
    made_on = min(await uow.today(), made.promised_on)
    await record_promise(
        uow,
        loan,
        Promise(made.promise_id, made_on, made.promised_on, made.amount_minor),
        source="notifier",
    )
