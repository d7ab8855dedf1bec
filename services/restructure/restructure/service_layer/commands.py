"""The API's use cases: ``async def <verb>(uow, ...) -> <Result dataclass>``.

Each runs inside the route's unit of work (``idempotent_post``), which commits; a refusal
(``restructure.domain.errors``) rolls it back and is answered as problem+json. "Today" is
the service's business clock (``uow.today()``: the day after the last business day the
ledger closed). Every step is written to the audit trail with who did it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lendkit.auth import Principal
from lendkit.contracts import restructure as contract
from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.errors import Conflict
from lendkit.events import new_event
from restructure.adapters.records import (
    AuditStep,
    HardshipRequest,
    LoanView,
    Offer,
    Plan,
    QuoteRow,
    position_of,
)
from restructure.domain.approval import ensure_four_eyes, needs_second_person
from restructure.domain.eligibility import LoanFacts, ineligibility
from restructure.domain.errors import (
    InvalidPlan,
    LoanNotFound,
    LoanTermsUnknown,
    NotEligible,
    OfferHasExpired,
    OfferNotOpen,
    PendingRequestExists,
    PlanNotCancellable,
    StaleQuote,
)
from restructure.domain.monitoring import days_past_due
from restructure.domain.options import Options, quote_options
from restructure.domain.plans import (
    DeferredInterest,
    PlanType,
    Quote,
    discounted_settlement,
    payment_holiday,
    penalty_waiver,
    promise_to_pay,
    rate_reduction,
    re_amortisation,
    term_extension,
)
from restructure.domain.position import LoanPosition
from restructure.domain.promises import Promise
from restructure.service_layer.messages import plan_accepted
from restructure.service_layer.monitoring import SYSTEM, policy_of
from restructure.service_layer.policy import eligibility_rules, plan_defaults
from restructure.service_layer.unit_of_work import RestructureUnitOfWork

OPEN = "open"
PENDING_APPROVAL = "pending_approval"


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class QuotedOption:
    """One plan type's answer, with the offer the borrower may accept when eligible."""

    row: QuoteRow
    offer_id: str | None
    offer_status: str | None


@dataclass(frozen=True)
class HardshipQuoted:
    request: HardshipRequest
    current: Quote
    options: tuple[QuotedOption, ...]
    expires_on: date


@dataclass(frozen=True)
class AcceptResult:
    offer: Offer
    plan: Plan | None
    promise_id: str | None
    created: bool
    """False when the offer had been accepted already (the same plan is answered)."""


@dataclass(frozen=True)
class LoanSituation:
    loan: LoanView
    position: LoanPosition
    facts: LoanFacts
    policy: RestructurePolicySpec
    today: date


async def _visible_loan(uow: RestructureUnitOfWork, caller: Principal, loan_id: str) -> LoanView:
    """The loan, locked; 404 when unknown or another borrower's."""
    loan = await uow.loans.get(loan_id, lock=True)
    if loan is None or not caller.may_see_borrower(loan.borrower_id):
        raise LoanNotFound()
    return loan


async def _situation(uow: RestructureUnitOfWork, loan: LoanView) -> LoanSituation:
    if loan.terms is None:
        raise LoanTermsUnknown(
            f"the terms of product {loan.product_code} have not reached this service yet"
        )
    today = await uow.today()
    dpd = days_past_due(loan.instalments, today)
    position = position_of(loan, loan.terms, today, dpd)
    facts = LoanFacts(
        as_of=today,
        dpd=dpd,
        charged_off=loan.charged_off,
        active_plan=await uow.plans.open_for(loan.loan_id) is not None,
        pending_request=False,
        payments_made=loan.payments_made,
        remaining_instalments=len(position.remaining),
        restructure_dates=tuple(await uow.plans.activation_dates(loan.loan_id)),
    )
    return LoanSituation(loan, position, facts, await policy_of(uow, loan.product_code), today)


async def _offer(
    uow: RestructureUnitOfWork,
    ctx: LoanSituation,
    quote: Quote,
    *,
    made_by: str,
    request_id: str | None,
    quote_id: str | None,
    expires_on: date,
) -> Offer:
    """An offer of ``quote``: open, or awaiting a second person above the threshold."""
    approval = needs_second_person(quote, ctx.policy.approval_threshold_minor)
    offer = Offer(
        offer_id=_new_id("O"),
        loan_id=ctx.loan.loan_id,
        request_id=request_id,
        quote_id=quote_id,
        plan_type=quote.plan_type.value,
        quote=quote,
        position=ctx.position,
        status=PENDING_APPROVAL if approval else OPEN,
        made_by=made_by,
        needs_approval=approval,
        approved_by=None,
        expires_on=expires_on,
        forgiven_minor=quote.waived_total,
    )
    await uow.offers.add(offer)
    await uow.audit.record(
        AuditStep(
            "offer",
            offer.offer_id,
            offer.loan_id,
            "made",
            made_by,
            {"plan_type": offer.plan_type, "needs_approval": approval},
        )
    )
    if not approval:
        await _offer_made(uow, offer)
    return offer


async def _offer_made(uow: RestructureUnitOfWork, offer: Offer) -> None:
    await uow.emit(
        new_event(
            contract.OfferMade(
                offer_id=offer.offer_id,
                loan_id=offer.loan_id,
                plan_type=offer.quote.plan_type.value,
                expires_on=offer.expires_on,
                made_by=offer.made_by,
            ),
            source=uow.source,
        )
    )


async def request_hardship(
    uow: RestructureUnitOfWork, caller: Principal, loan_id: str, reason: str
) -> HardshipQuoted:
    """A hardship request: every plan type quoted exactly or refused with every reason,
    beside the current terms; each eligible quote is offered until the offer expiry."""
    loan = await _visible_loan(uow, caller, loan_id)
    if await uow.requests.pending_for(loan_id) is not None:
        raise PendingRequestExists(f"loan {loan_id} already has a pending hardship request")
    ctx = await _situation(uow, loan)
    options: Options = quote_options(
        ctx.position,
        ctx.facts,
        eligibility_rules(ctx.policy),
        plan_defaults(ctx.policy),
        hardship_reason=reason,
    )
    request = HardshipRequest(_new_id("R"), loan_id, loan.borrower_id, reason, "pending", ctx.today)
    if not await uow.requests.add(request):
        raise PendingRequestExists(f"loan {loan_id} already has a pending hardship request")
    await uow.audit.record(
        AuditStep("request", request.request_id, loan_id, "requested", caller.subject)
    )
    await uow.emit(
        new_event(
            contract.HardshipRequested(
                request_id=request.request_id,
                loan_id=loan_id,
                requested_on=ctx.today,
                reason=reason,
            ),
            source=uow.source,
        )
    )
    expires_on = ctx.today + timedelta(days=ctx.policy.offer_expiry_days)
    answered = []
    for n, option in enumerate(options.options):
        row = QuoteRow(
            quote_id=f"{request.request_id}-Q{n + 1}",
            request_id=request.request_id,
            loan_id=loan_id,
            plan_type=option.plan_type.value,
            eligible=option.eligible,
            reasons=tuple(r.value for r in option.reasons),
            quote=option.quote,
            expires_on=expires_on,
        )
        await uow.quotes.add(row)
        offer = None
        if option.quote is not None:
            await uow.emit(
                new_event(
                    contract.QuoteIssued(
                        quote_id=row.quote_id,
                        request_id=request.request_id,
                        loan_id=loan_id,
                        plan_type=option.plan_type.value,
                        total_cost_minor=option.quote.total_cost,
                        effective_annual_cost=str(option.quote.effective_annual_cost),
                        expires_on=expires_on,
                    ),
                    source=uow.source,
                )
            )
            offer = await _offer(
                uow,
                ctx,
                option.quote,
                made_by=SYSTEM,
                request_id=request.request_id,
                quote_id=row.quote_id,
                expires_on=expires_on,
            )
        answered.append(
            QuotedOption(
                row,
                None if offer is None else offer.offer_id,
                None if offer is None else offer.status,
            )
        )
    return HardshipQuoted(request, options.current, tuple(answered), expires_on)


@dataclass(frozen=True)
class OfferTerms:
    """What operations offer: the plan type and its parameters (policy defaults if unset)."""

    plan_type: PlanType
    periods: int | None = None
    new_annual_rate: Decimal | None = None
    waive_penalty_minor: int | None = None
    waive_fee_minor: int | None = None
    amount_minor: int | None = None
    on: date | None = None
    expires_in_days: int | None = None


def _quote_for(position: LoanPosition, terms: OfferTerms, policy: RestructurePolicySpec) -> Quote:
    t = terms.plan_type
    if t is PlanType.PAYMENT_HOLIDAY:
        return payment_holiday(
            position,
            terms.periods or policy.max_holiday_periods,
            DeferredInterest(policy.deferred_interest),
        )
    if t is PlanType.TERM_EXTENSION:
        return term_extension(position, terms.periods or policy.max_extension_periods)
    if t is PlanType.RE_AMORTISATION:
        return re_amortisation(position)
    if t is PlanType.RATE_REDUCTION:
        return rate_reduction(position, terms.new_annual_rate or Decimal(0))
    if t is PlanType.PENALTY_WAIVER:
        return penalty_waiver(position, terms.waive_penalty_minor, terms.waive_fee_minor)
    on = terms.on or position.as_of + timedelta(days=14)
    if t is PlanType.DISCOUNTED_SETTLEMENT:
        if terms.amount_minor is None:
            raise InvalidPlan("a settlement offer names its amount_minor")
        return discounted_settlement(position, terms.amount_minor, on)
    if terms.amount_minor is None:
        raise InvalidPlan("a promise names its amount_minor")
    return promise_to_pay(position, on, terms.amount_minor)


async def make_offer(
    uow: RestructureUnitOfWork, caller: Principal, loan_id: str, terms: OfferTerms
) -> Offer:
    """Operations offer a plan (eligibility holds for them too; settlements and waivers above
    the product's threshold wait for a second person)."""
    loan = await _visible_loan(uow, caller, loan_id)
    ctx = await _situation(uow, loan)
    quote = _quote_for(ctx.position, terms, ctx.policy)
    owed = ctx.position.total_owed
    reasons = ineligibility(
        terms.plan_type,
        ctx.facts,
        eligibility_rules(ctx.policy),
        hardship_reason="stated to operations",
        discount=quote.waived_total if terms.plan_type is PlanType.DISCOUNTED_SETTLEMENT else 0,
        owed=owed,
    )
    if reasons:
        raise NotEligible(
            f"{terms.plan_type.value} is refused: {', '.join(r.value for r in reasons)}",
            [r.value for r in reasons],
        )
    pending = await uow.requests.pending_for(loan_id)
    days = terms.expires_in_days or ctx.policy.offer_expiry_days
    return await _offer(
        uow,
        ctx,
        quote,
        made_by=caller.subject,
        request_id=None if pending is None else pending.request_id,
        quote_id=None,
        expires_on=ctx.today + timedelta(days=days),
    )


async def _offer_for(
    uow: RestructureUnitOfWork, caller: Principal, offer_id: str
) -> tuple[Offer, LoanView]:
    offer = await uow.offers.get(offer_id, lock=True)
    if offer is None:
        raise LoanNotFound()
    loan = await _visible_loan(uow, caller, offer.loan_id)
    return offer, loan


async def approve_offer(uow: RestructureUnitOfWork, caller: Principal, offer_id: str) -> Offer:
    """The second person's approval: never the maker."""
    offer, _ = await _offer_for(uow, caller, offer_id)
    if offer.status != PENDING_APPROVAL:
        raise OfferNotOpen(f"offer {offer_id} is {offer.status}, not awaiting approval")
    ensure_four_eyes(offer.made_by, caller.subject)
    if await uow.today() > offer.expires_on:
        raise OfferHasExpired(f"offer {offer_id} expired on {offer.expires_on}")
    await uow.offers.approve(offer_id, caller.subject)
    await uow.audit.record(AuditStep("offer", offer_id, offer.loan_id, "approved", caller.subject))
    approved = await uow.offers.get(offer_id)
    assert approved is not None
    await _offer_made(uow, approved)
    return approved


def _ensure_open(offer: Offer, today: date) -> None:
    if offer.status == "expired" or (
        offer.status in (OPEN, PENDING_APPROVAL) and today > offer.expires_on
    ):
        raise OfferHasExpired(f"offer {offer.offer_id} expired on {offer.expires_on}")
    if offer.status == PENDING_APPROVAL:
        raise OfferNotOpen(f"offer {offer.offer_id} awaits a second person's approval")
    if offer.status != OPEN:
        raise OfferNotOpen(f"offer {offer.offer_id} is {offer.status}")


async def accept_offer(
    uow: RestructureUnitOfWork, caller: Principal, offer_id: str
) -> AcceptResult:
    """Accept: one plan per offer (accepting again answers the same plan), never after the
    offer's last day, only on the balance it was quoted on. The plan's exact schedule goes to
    the ledger (``restructure.plan.accepted.v2``); a promise offer records a promise."""
    offer, loan = await _offer_for(uow, caller, offer_id)
    if offer.status == "accepted":
        return AcceptResult(offer, await uow.plans.for_offer(offer_id), None, created=False)
    today = await uow.today()
    _ensure_open(offer, today)
    if loan.terms is None:
        raise LoanTermsUnknown(f"the terms of product {loan.product_code} are unknown")
    current = position_of(loan, loan.terms, today, 0)
    position = offer.position
    if current.outstanding_principal != position.outstanding_principal:
        raise StaleQuote(
            f"the loan's principal changed since offer {offer_id} was quoted "
            f"({position.outstanding_principal} -> {current.outstanding_principal}); "
            "request new quotes"
        )
    plan: Plan | None = None
    promise_id: str | None = None
    if offer.quote.plan_type is PlanType.PROMISE_TO_PAY:
        promise_id = await record_promise(
            uow,
            loan,
            Promise(
                f"PR-{offer_id}",
                today,
                offer.quote.promise_date or today,
                offer.quote.promise_amount,
            ),
            source="offer",
        )
    else:
        if await uow.plans.open_for(loan.loan_id) is not None:
            raise Conflict(f"loan {loan.loan_id} already has an open plan")
        plan_id = f"P-{offer_id}"
        event = plan_accepted(plan_id, offer.quote, position, today)
        plan = Plan(
            plan_id,
            loan.loan_id,
            offer_id,
            offer.plan_type,
            "accepted",
            offer.quote.instalments,
            today,
        )
        if not await uow.plans.add(plan, event.model_dump(mode="json")):
            raise Conflict(f"loan {loan.loan_id} already has an open plan")
        await uow.audit.record(AuditStep("plan", plan_id, loan.loan_id, "accepted", caller.subject))
        await uow.emit(new_event(event, source=uow.source))
    await uow.offers.set_status(offer_id, "accepted")
    await uow.audit.record(AuditStep("offer", offer_id, loan.loan_id, "accepted", caller.subject))
    if offer.request_id is not None:
        await uow.offers.withdraw_others(offer.request_id, offer_id)
        await uow.requests.set_status(offer.request_id, "accepted")
    accepted = await uow.offers.get(offer_id)
    assert accepted is not None
    return AcceptResult(accepted, plan, promise_id, created=True)


async def decline_offer(uow: RestructureUnitOfWork, caller: Principal, offer_id: str) -> Offer:
    offer, loan = await _offer_for(uow, caller, offer_id)
    if offer.status not in (OPEN, PENDING_APPROVAL):
        raise OfferNotOpen(f"offer {offer_id} is {offer.status}")
    await uow.offers.set_status(offer_id, "declined")
    await uow.audit.record(AuditStep("offer", offer_id, loan.loan_id, "declined", caller.subject))
    if offer.request_id is not None and not [
        o
        for o in await uow.offers.for_request(offer.request_id)
        if o.status in (OPEN, PENDING_APPROVAL)
    ]:
        await uow.requests.set_status(offer.request_id, "declined")
    declined = await uow.offers.get(offer_id)
    assert declined is not None
    return declined


async def cancel_plan(uow: RestructureUnitOfWork, caller: Principal, plan_id: str) -> Plan:
    """Cancel an accepted plan before the ledger's rewrite made it active:
    ``restructure.plan.cancelled``, on which the ledger undoes whatever it booked for the
    plan meanwhile (a held settlement above all) and the overdue service ends its pause."""
    plan = await uow.plans.get(plan_id, lock=True)
    if plan is None:
        raise LoanNotFound()
    await _visible_loan(uow, caller, plan.loan_id)
    if plan.status != "accepted":
        raise PlanNotCancellable(f"plan {plan_id} is {plan.status}; only an accepted plan cancels")
    today = await uow.today()
    await uow.plans.close(plan_id, "cancelled", today)
    await uow.audit.record(AuditStep("plan", plan_id, plan.loan_id, "cancelled", caller.subject))
    await uow.emit(
        new_event(
            contract.PlanCancelled(
                plan_id=plan_id,
                loan_id=plan.loan_id,
                plan_type=plan.plan_type,
                cancelled_on=today,
            ),
            source=uow.source,
        )
    )
    cancelled = await uow.plans.get(plan_id)
    assert cancelled is not None
    return cancelled


async def record_promise(
    uow: RestructureUnitOfWork, loan: LoanView, promise: Promise, *, source: str
) -> str:
    """Keep ``promise`` for ``loan`` (once per promise id), audit and publish it."""
    if await uow.promises.add(loan.loan_id, promise, source):
        await uow.audit.record(
            AuditStep("promise", promise.promise_id, loan.loan_id, "made", source)
        )
        await uow.emit(
            new_event(
                contract.PromiseMade(
                    promise_id=promise.promise_id,
                    loan_id=loan.loan_id,
                    made_on=promise.made_on,
                    promised_on=promise.due,
                    amount_minor=promise.amount,
                    currency=loan.currency,
                ),
                source=uow.source,
            )
        )
    return promise.promise_id


async def make_promise(
    uow: RestructureUnitOfWork,
    caller: Principal,
    loan_id: str,
    *,
    promised_on: date,
    amount_minor: int,
) -> str:
    """A promise to pay stated by the borrower or taken by operations."""
    loan = await _visible_loan(uow, caller, loan_id)
    today = await uow.today()
    if promised_on < today:
        raise InvalidPlan(f"promise date {promised_on} is before today {today}")
    if amount_minor <= 0:
        raise InvalidPlan("a promise is for a positive amount")
    source = "ops" if caller.is_staff else "borrower"
    return await record_promise(
        uow, loan, Promise(_new_id("PR"), today, promised_on, amount_minor), source=source
    )
