"""Daily penalty accrual with an exact rounding carry and two caps.

Rounding carry
    Each day's exact penalty is ``base * daily_rate`` as an exact ``Decimal``. The
    exact amounts accumulate in ``PenaltyState.cumulative_exact`` and the amount
    booked for day D is ``round(cumulative_exact) - assessed_to_date`` (rounding mode
    from the policy, half-even by default). Booked totals therefore never drift from
    the exact total: after every day ``assessed_to_date == round(cumulative_exact)``.
    Example: 38.915 a day books 39, 39, 39, 39, 39, 38, ... (233.49 rounds to 233).

No pyramiding
    The base is overdue principal, or overdue principal + contract interest; the
    penalty and fee components of the arrears are never part of it.

Grace
    Penalty accrues only for days with DPD > ``penalty_grace_days``. This is separate
    from the arrears grace that decides when a loan counts as overdue.

Caps (the day's booking is clipped to the smaller headroom, never below 0)
    (a) Combined annualised cost ceiling. On day D, contract interest charged to date
        + penalty assessed to date + fees charged to date must not exceed
        ``floor(principal * annual_cost_ceiling * elapsed_days / 365)``, where
        ``principal`` is the loan's original principal and ``elapsed_days`` counts from
        the disbursement date to D, both inclusive. This follows the Chinese Supreme
        People's Court provisions on private lending, where interest, penalty and fees
        together are capped (4x the one-year LPR) on the lent principal; 24 % and 36 %
        are the historic lines. Contract interest to date is the interest the ledger's
        schedule really charges on the instalments due on or before D (the read model's
        ``scheduled_interest_minor``), never a rate times a nominal period: the ledger
        charges a short or long first period its own days under the product's day count,
        so a first instalment due 5 days after disbursement brings 5 days of interest
        (19.73 on 12,000.00 at 12 % ACT/365), measured against a ceiling of 5 + 1 days,
        and is not found over the ceiling as a whole month's 120.00 would be.
    (b) An absolute per-loan cap on penalty assessed.
    When both bind equally the absolute cap is reported. Penalty clipped by a cap is
    forgone, not deferred: the carry is reset to what was actually booked, so it is
    never caught up on a later day when the annualised ceiling has grown.

Waivers
    A waiver lowers the penalty the borrower owes (``booked_to_date_minor``) by adding
    to ``waived_to_date_minor``; booked days are never rewritten. Caps count penalty
    *assessed* (before waivers), so a waiver never reopens room for more penalty.

Idempotency
    The state remembers the last accrued date. Accruing a date on or before it is a
    no-op that returns ``(None, state)`` unchanged: a redelivered close-of-business
    event or a replay can never charge a day twice. Accruing a later date accrues
    that date only; the caller runs every day in order (``accrue_over_days``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from enum import StrEnum

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.delinquency import days_past_due
from overdue.domain.policy import OverduePolicy, PenaltyBase

# Sums and products of penalty amounts must be exact; any inexact step is a bug.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow])
# Booking rounds explicitly, with the mode the policy names.
_ROUNDING = Context(prec=60, traps=[InvalidOperation, Overflow])
_ONE = Decimal(1)
_DAYS_PER_YEAR = 365


class CapApplied(StrEnum):
    ANNUAL_COST_CEILING = "annual_cost_ceiling"
    ABSOLUTE_PENALTY_CAP = "absolute_penalty_cap"


class InvalidWaiver(ValueError):
    """A waiver amount is not positive or exceeds the penalty the borrower owes."""


@dataclass(frozen=True)
class LoanTerms:
    """What the cost ceiling is measured against: original principal and disbursement."""

    principal_minor: int
    disbursed_on: date

    def __post_init__(self) -> None:
        if self.principal_minor <= 0:
            raise ValueError(f"principal_minor must be positive, got {self.principal_minor}")


@dataclass(frozen=True)
class DayPosition:
    """The loan at close of business on ``on``, as the inputs to that day's penalty.

    ``interest_charged_to_date_minor`` and ``fees_charged_to_date_minor`` are the
    contract interest and fees charged since disbursement (net of reversals), as the
    ledger reports them; penalty to date comes from ``PenaltyState``.
    """

    on: date
    oldest_unpaid_due_date: date | None
    overdue: OverdueBreakdown
    interest_charged_to_date_minor: int = 0
    fees_charged_to_date_minor: int = 0

    def __post_init__(self) -> None:
        if self.interest_charged_to_date_minor < 0 or self.fees_charged_to_date_minor < 0:
            raise ValueError("interest and fees charged to date must not be negative")


@dataclass(frozen=True)
class PenaltyDay:
    """One day's penalty, as booked and as explained to the borrower.

    ``exact`` is ``base_minor * rate`` unrounded; ``booked_minor`` is what was charged
    after the rounding carry and caps; ``forgone_minor`` is what the cap removed.
    """

    on: date
    dpd: int
    base_minor: int
    rate: Decimal
    exact: Decimal
    booked_minor: int
    cap_applied: CapApplied | None = None
    forgone_minor: int = 0


@dataclass(frozen=True)
class PenaltyState:
    """Per-loan accrual state carried from one day to the next.

    Invariant: ``assessed_to_date_minor == round(cumulative_exact)`` under the policy's
    rounding mode.
    """

    last_accrued_on: date | None = None
    cumulative_exact: Decimal = Decimal(0)
    assessed_to_date_minor: int = 0
    waived_to_date_minor: int = 0

    @property
    def booked_to_date_minor(self) -> int:
        """Penalty the borrower owes from accrual so far: assessed minus waived."""
        return self.assessed_to_date_minor - self.waived_to_date_minor

    @property
    def carry(self) -> Decimal:
        """Exact penalty not yet booked (or booked ahead) because of rounding; |carry| < 1."""
        return _EXACT.subtract(self.cumulative_exact, Decimal(self.assessed_to_date_minor))


def penalty_base(overdue: OverdueBreakdown, basis: PenaltyBase) -> int:
    """The amount the daily rate applies to. Penalty and fees are never part of it."""
    if basis is PenaltyBase.OVERDUE_PRINCIPAL:
        return overdue.principal_minor
    return overdue.principal_minor + overdue.interest_minor


def cost_ceiling_minor(loan: LoanTerms, on: date, policy: OverduePolicy) -> int:
    """Most that interest + penalty + fees may total by ``on``, in minor units (floored)."""
    elapsed_days = (on - loan.disbursed_on).days + 1
    if elapsed_days < 1:
        raise ValueError(f"{on} is before the disbursement date {loan.disbursed_on}")
    numerator, denominator = policy.annual_cost_ceiling.as_integer_ratio()
    return (loan.principal_minor * numerator * elapsed_days) // (denominator * _DAYS_PER_YEAR)


def accrue_penalty_for_day(
    state: PenaltyState, loan: LoanTerms, day: DayPosition, policy: OverduePolicy
) -> tuple[PenaltyDay | None, PenaltyState]:
    """Accrue the penalty for ``day.on``.

    Returns ``(None, state)`` unchanged when ``day.on`` was already accrued (same or
    earlier date: idempotent no-op). Returns ``(None, new_state)`` when no penalty is
    due that day (within penalty grace, or a zero base); ``new_state`` then only
    remembers the date. Otherwise returns the ``PenaltyDay`` and the new state.
    """
    if state.last_accrued_on is not None and day.on <= state.last_accrued_on:
        return None, state
    if day.on < loan.disbursed_on:
        raise ValueError(f"{day.on} is before the disbursement date {loan.disbursed_on}")
    # PenaltyState(...) rather than dataclasses.replace: the same value, built directly
    # (this runs once per overdue loan at close of business)
    dated = PenaltyState(
        day.on, state.cumulative_exact, state.assessed_to_date_minor, state.waived_to_date_minor
    )
    dpd = days_past_due(day.oldest_unpaid_due_date, day.on)
    base = penalty_base(day.overdue, policy.penalty_base)
    if dpd <= policy.penalty_grace_days or base == 0:
        return None, dated

    exact = _EXACT.multiply(Decimal(base), policy.penalty_daily_rate)
    cumulative = _EXACT.add(state.cumulative_exact, exact)
    uncapped = _round(cumulative, policy) - state.assessed_to_date_minor
    booked, cap = _clip_to_caps(uncapped, state, loan, day, policy)
    assessed = state.assessed_to_date_minor + booked
    if cap is not None:
        cumulative = Decimal(assessed)  # forgone, not deferred
    penalty_day = PenaltyDay(
        on=day.on,
        dpd=dpd,
        base_minor=base,
        rate=policy.penalty_daily_rate,
        exact=exact,
        booked_minor=booked,
        cap_applied=cap,
        forgone_minor=uncapped - booked,
    )
    return penalty_day, PenaltyState(day.on, cumulative, assessed, state.waived_to_date_minor)


def accrue_over_days(
    state: PenaltyState,
    loan: LoanTerms,
    days: Iterable[DayPosition],
    policy: OverduePolicy,
) -> tuple[tuple[PenaltyDay, ...], PenaltyState]:
    """Accrue each day in order; returns the days that carried a penalty and the final state."""
    booked_days: list[PenaltyDay] = []
    for day in days:
        penalty_day, state = accrue_penalty_for_day(state, loan, day, policy)
        if penalty_day is not None:
            booked_days.append(penalty_day)
    return tuple(booked_days), state


def waive_penalty(state: PenaltyState, amount_minor: int) -> PenaltyState:
    """Lower the penalty owed by ``amount_minor``; booked days and caps are untouched.

    The audit record (who, why, when) belongs to the caller; this is only the arithmetic.
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidWaiver(f"waiver must be a positive int of minor units, got {amount_minor!r}")
    if amount_minor > state.booked_to_date_minor:
        raise InvalidWaiver(
            f"waiver of {amount_minor} exceeds the penalty owed ({state.booked_to_date_minor})"
        )
    return replace(state, waived_to_date_minor=state.waived_to_date_minor + amount_minor)


def _round(value: Decimal, policy: OverduePolicy) -> int:
    return int(value.quantize(_ONE, rounding=policy.penalty_rounding, context=_ROUNDING))


def _clip_to_caps(
    uncapped: int,
    state: PenaltyState,
    loan: LoanTerms,
    day: DayPosition,
    policy: OverduePolicy,
) -> tuple[int, CapApplied | None]:
    headrooms: list[tuple[CapApplied, int]] = []
    if policy.absolute_penalty_cap_minor is not None:
        headrooms.append(
            (
                CapApplied.ABSOLUTE_PENALTY_CAP,
                policy.absolute_penalty_cap_minor - state.assessed_to_date_minor,
            )
        )
    cost_to_date = (
        day.interest_charged_to_date_minor
        + day.fees_charged_to_date_minor
        + state.assessed_to_date_minor
    )
    headrooms.append(
        (CapApplied.ANNUAL_COST_CEILING, cost_ceiling_minor(loan, day.on, policy) - cost_to_date)
    )
    booked, cap = uncapped, None
    for which, headroom in headrooms:
        allowed = max(0, headroom)
        if allowed < booked:
            booked, cap = allowed, which
    return booked, cap
