"""Plan types and their exact quotes.

A quote is the exact list of new instalments plus what happens to every other amount the
borrower owes. Each owed component (recognised ``interest``, ``penalty``, ``fee``) is
``capitalised`` (added to the new principal, explicitly), ``carried`` (owed with the first
new instalment), ``waived`` or, for a settlement, written off. A payment holiday's
``deferred_interest`` (interest of the holiday periods) is capitalised, carried or waived.
:meth:`Quote.reconciliation_errors` checks, to the minor unit::

    new principal == outstanding principal + capitalised - principal written off
    owed[c] == capitalised[c] + carried[c] + waived[c] + kept[c]     for every component c

where ``kept`` is what stays in instalments the plan does not rewrite (a waiver or a
promise keeps the schedule). Every schedule is computed by the kit's
:mod:`lendkit.schedules` (the ledger books with the same functions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

from lendkit.schedules import (
    ScheduledInstalment,
    amortise,
    due_dates,
    period_rate,
    regular_schedule,
    round_minor,
)
from restructure.domain.cost import effective_annual_cost
from restructure.domain.errors import InvalidPlan, UnbalancedQuote
from restructure.domain.position import LoanPosition


class PlanType(StrEnum):
    """The options a product may allow (``RestructurePolicySpec.allowed_options``)."""

    PAYMENT_HOLIDAY = "payment_holiday"
    TERM_EXTENSION = "term_extension"
    RE_AMORTISATION = "re_amortisation"
    RATE_REDUCTION = "rate_reduction"
    PENALTY_WAIVER = "penalty_waiver"
    DISCOUNTED_SETTLEMENT = "discounted_settlement"
    PROMISE_TO_PAY = "promise_to_pay"


class DeferredInterest(StrEnum):
    """What a payment holiday does with the interest of the deferred periods."""

    CAPITALISE = "capitalise"
    ADD_TO_FIRST = "add_to_first"
    WAIVE = "waive"


#: Owed components besides principal, in the order a settlement discount waives them.
COMPONENTS = ("penalty", "fee", "interest")
DEFERRED = "deferred_interest"


def _frozen(values: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class Quote:
    """The exact outcome of one plan type on one loan position."""

    plan_type: PlanType
    loan_id: str
    currency: str
    as_of: date
    annual_rate: Decimal
    instalments: tuple[ScheduledInstalment, ...]
    capitalised: Mapping[str, int] = field(default_factory=dict)
    carried: Mapping[str, int] = field(default_factory=dict)
    waived: Mapping[str, int] = field(default_factory=dict)
    written_off_principal: int = 0
    settlement_deadline: date | None = None
    promise_date: date | None = None
    promise_amount: int = 0
    rewrites_schedule: bool = True

    @property
    def new_principal(self) -> int:
        """Sum of the new instalments' principal parts."""
        return sum(i.principal for i in self.instalments)

    @property
    def total_interest(self) -> int:
        """Interest in the new instalments (deferred interest carried excluded)."""
        return sum(i.interest for i in self.instalments)

    @property
    def total_cost(self) -> int:
        """Everything the borrower pays on the plan if paid on time."""
        return sum(i.total for i in self.instalments) + sum(self.carried.values())

    @property
    def waived_total(self) -> int:
        """Every amount forgiven: waivers and principal written off."""
        return sum(self.waived.values()) + self.written_off_principal

    @property
    def first_instalment_total(self) -> int:
        """The first instalment with what is carried onto it."""
        return (self.instalments[0].total if self.instalments else 0) + sum(self.carried.values())

    def payments(self) -> list[tuple[date, int]]:
        """Each payment date and amount (carried items with the first instalment)."""
        flows = [(i.due_date, i.total) for i in self.instalments]
        if flows:
            flows[0] = (flows[0][0], flows[0][1] + sum(self.carried.values()))
        return flows

    @cached_property
    def effective_annual_cost(self) -> Decimal:
        """Effective annual cost of the plan on the outstanding principal (solved once a
        quote: it is stored, published and answered)."""
        financed = (
            self.new_principal
            + self.written_off_principal
            - sum(v for k, v in self.capitalised.items())
        )
        return effective_annual_cost(financed, self.as_of, self.payments())

    def reconciliation_errors(self, position: LoanPosition) -> list[str]:
        """Every way the quote fails to conserve the position's balance (empty: exact)."""
        errors: list[str] = []
        expected = (
            position.outstanding_principal
            + sum(self.capitalised.values())
            - self.written_off_principal
        )
        if self.new_principal != expected:
            errors.append(f"new principal {self.new_principal} != {expected}")
        kept_interest = sum(i.interest for i in self.instalments if i.due_date < position.as_of)
        owed = {
            "interest": position.overdue_interest - kept_interest,
            "penalty": position.penalty,
            "fee": position.fee,
        }
        for component, amount in owed.items():
            accounted = (
                self.capitalised.get(component, 0)
                + self.carried.get(component, 0)
                + self.waived.get(component, 0)
            )
            if accounted != amount:
                errors.append(f"{component}: owed {amount}, accounted {accounted}")
        for i in self.instalments:
            if i.principal < 0 or i.interest < 0:
                errors.append(f"instalment {i.seq} has a negative part")
        for name, mapping in (
            ("capitalised", self.capitalised),
            ("carried", self.carried),
            ("waived", self.waived),
        ):
            if any(v < 0 for v in mapping.values()):
                errors.append(f"{name} has a negative amount")
        return errors

    def check(self, position: LoanPosition) -> Quote:
        """The quote itself, or :class:`UnbalancedQuote` naming every discrepancy."""
        errors = self.reconciliation_errors(position)
        if errors:
            raise UnbalancedQuote("; ".join(errors))
        return self


def _arrears(position: LoanPosition, *, capitalise: bool) -> tuple[dict[str, int], dict[str, int]]:
    """Overdue interest, penalty and fees: (capitalised, carried)."""
    owed = {"interest": position.overdue_interest, "penalty": position.penalty, "fee": position.fee}
    if capitalise:
        return owed, {}
    return {}, owed


def _quote(position: LoanPosition, plan_type: PlanType, **kwargs: object) -> Quote:
    kwargs.setdefault("annual_rate", position.terms.annual_rate)
    for name in ("capitalised", "carried", "waived"):
        kwargs[name] = _frozen(kwargs.get(name, {}))  # type: ignore[arg-type]
    quote = Quote(
        plan_type=plan_type,
        loan_id=position.loan_id,
        currency=position.terms.currency,
        as_of=position.as_of,
        **kwargs,  # type: ignore[arg-type]
    )
    return quote.check(position)


def _rewrite(
    position: LoanPosition, principal: int, dates: tuple[date, ...], annual_rate: Decimal
) -> tuple[ScheduledInstalment, ...]:
    terms = position.terms
    rate = period_rate(annual_rate, terms.frequency, terms.day_count)
    return amortise(principal, rate, terms.schedule_type, terms.rounding, dates, position.next_seq)


def _require_principal(position: LoanPosition) -> None:
    if position.outstanding_principal <= 0:
        raise InvalidPlan(f"loan {position.loan_id} has no outstanding principal to reschedule")


def current_terms(position: LoanPosition) -> Quote:
    """The loan as it stands, for the side-by-side comparison."""
    return _quote(
        position,
        PlanType.PROMISE_TO_PAY,
        instalments=position.unpaid,
        carried={"penalty": position.penalty, "fee": position.fee},
        rewrites_schedule=False,
    )


def payment_holiday(
    position: LoanPosition, periods: int, deferred: DeferredInterest = DeferredInterest.CAPITALISE
) -> Quote:
    """Nothing due for ``periods`` periods; then the balance over as many instalments as
    remained (at least one). Interest of the holiday periods on the outstanding principal
    is capitalised, added to the first new instalment, or waived."""
    _require_principal(position)
    if periods < 1:
        raise InvalidPlan("a payment holiday defers at least one period")
    terms = position.terms
    principal = position.outstanding_principal
    deferred_interest = periods * round_minor(principal * terms.period_rate, terms.rounding)
    count = max(len(position.remaining), 1)
    first_due = due_dates(position.next_due_date, periods + 1, terms.frequency)[-1]
    dates = due_dates(first_due, count, terms.frequency)
    capitalised, carried = _arrears(position, capitalise=False)
    waived: dict[str, int] = {}
    new_principal = principal
    if deferred is DeferredInterest.CAPITALISE:
        capitalised[DEFERRED] = deferred_interest
        new_principal += deferred_interest
    elif deferred is DeferredInterest.ADD_TO_FIRST:
        carried[DEFERRED] = deferred_interest
    else:
        waived[DEFERRED] = deferred_interest
    return _quote(
        position,
        PlanType.PAYMENT_HOLIDAY,
        instalments=_rewrite(position, new_principal, dates, terms.annual_rate),
        capitalised=capitalised,
        carried=carried,
        waived=waived,
    )


def term_extension(
    position: LoanPosition, extra_periods: int, *, capitalise_arrears: bool = False
) -> Quote:
    """Re-age: the outstanding principal (overdue principal folded in) over the remaining
    periods plus ``extra_periods``, from the next due date (one period after ``as_of``
    after maturity); the loan is current again. Overdue interest, penalty and fees are
    capitalised or carried onto the first new instalment."""
    _require_principal(position)
    if extra_periods < 1:
        raise InvalidPlan("a term extension adds at least one period")
    capitalised, carried = _arrears(position, capitalise=capitalise_arrears)
    terms = position.terms
    instalments = regular_schedule(
        position.outstanding_principal + sum(capitalised.values()),
        annual_rate=terms.annual_rate,
        term=len(position.remaining) + extra_periods,
        first_due_date=position.next_due_date,
        start_seq=position.next_seq,
        schedule_type=terms.schedule_type,
        frequency=terms.frequency,
        day_count=terms.day_count,
        rounding=terms.rounding,
    )
    return _quote(
        position,
        PlanType.TERM_EXTENSION,
        instalments=instalments,
        capitalised=capitalised,
        carried=carried,
    )


def re_amortisation(position: LoanPosition) -> Quote:
    """The overdue principal spread over the remaining instalments, due dates kept."""
    _require_principal(position)
    dates = tuple(i.due_date for i in position.remaining)
    if not dates:
        raise InvalidPlan("re-amortisation needs remaining instalments (the loan has matured)")
    capitalised, carried = _arrears(position, capitalise=False)
    return _quote(
        position,
        PlanType.RE_AMORTISATION,
        instalments=_rewrite(
            position, position.outstanding_principal, dates, position.terms.annual_rate
        ),
        capitalised=capitalised,
        carried=carried,
    )


def rate_reduction(position: LoanPosition, new_annual_rate: Decimal) -> Quote:
    """The outstanding principal at ``new_annual_rate`` (0 allowed) over the remaining due
    dates (one period after ``as_of`` after maturity)."""
    _require_principal(position)
    if not Decimal(0) <= new_annual_rate <= position.terms.annual_rate:
        raise InvalidPlan(
            f"new rate {new_annual_rate} must be between 0 and the current "
            f"{position.terms.annual_rate}"
        )
    dates = tuple(i.due_date for i in position.remaining) or (position.next_due_date,)
    capitalised, carried = _arrears(position, capitalise=False)
    return _quote(
        position,
        PlanType.RATE_REDUCTION,
        annual_rate=new_annual_rate,
        instalments=_rewrite(position, position.outstanding_principal, dates, new_annual_rate),
        capitalised=capitalised,
        carried=carried,
    )


def penalty_waiver(
    position: LoanPosition, penalty: int | None = None, fee: int | None = None
) -> Quote:
    """Waive ``penalty`` and ``fee`` (default: all of each); the schedule is unchanged."""
    waive_penalty = position.penalty if penalty is None else penalty
    waive_fee = position.fee if fee is None else fee
    if not 0 <= waive_penalty <= position.penalty or not 0 <= waive_fee <= position.fee:
        raise InvalidPlan(
            f"waiver {waive_penalty}/{waive_fee} exceeds the penalty {position.penalty} "
            f"or fees {position.fee} owed"
        )
    return _quote(
        position,
        PlanType.PENALTY_WAIVER,
        instalments=position.unpaid,
        carried={"penalty": position.penalty - waive_penalty, "fee": position.fee - waive_fee},
        waived={"penalty": waive_penalty, "fee": waive_fee},
        rewrites_schedule=False,
    )


def discounted_settlement(position: LoanPosition, amount: int, deadline: date) -> Quote:
    """One payment of ``amount`` by ``deadline`` settles the loan; the discount (everything
    owed minus ``amount``) is waived penalty first, then fees, interest, and principal last
    (written off), and only once the amount is paid in time."""
    owed = position.total_owed
    if not 0 < amount <= owed:
        raise InvalidPlan(f"settlement amount {amount} must be in (0, {owed}]")
    if deadline < position.as_of:
        raise InvalidPlan(f"deadline {deadline} is before {position.as_of}")
    discount = owed - amount
    waived: dict[str, int] = {}
    remaining = {
        "penalty": position.penalty,
        "fee": position.fee,
        "interest": position.overdue_interest,
    }
    for component in COMPONENTS:
        take = min(discount, remaining[component])
        waived[component] = take
        remaining[component] -= take
        discount -= take
    written_off = discount
    principal = position.outstanding_principal - written_off
    lump = ScheduledInstalment(position.next_seq, deadline, principal, 0)
    return _quote(
        position,
        PlanType.DISCOUNTED_SETTLEMENT,
        instalments=(lump,),
        carried=remaining,
        waived=waived,
        written_off_principal=written_off,
        settlement_deadline=deadline,
    )


def promise_to_pay(position: LoanPosition, on: date, amount: int) -> Quote:
    """A promise of ``amount`` by ``on``; the schedule and balances are unchanged."""
    if amount <= 0:
        raise InvalidPlan("a promise is for a positive amount")
    if on < position.as_of:
        raise InvalidPlan(f"promise date {on} is before {position.as_of}")
    return _quote(
        position,
        PlanType.PROMISE_TO_PAY,
        instalments=position.unpaid,
        carried={"penalty": position.penalty, "fee": position.fee},
        promise_date=on,
        promise_amount=amount,
        rewrites_schedule=False,
    )
