"""Effective annual cost of a schedule: the annual rate ``i`` at which the payments,
discounted by ``(1 + i) ** (days / 365)`` from the start date, equal the amount financed
(the APRC convention). Solved by bisection in ``Decimal``; no floats."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from lendkit.schedules import CALCULATION_PRECISION

_LOW, _HIGH = Decimal("-0.99"), Decimal("100")
_QUANTUM = Decimal("0.0001")


def effective_annual_cost(
    financed: int, start: date, payments: Sequence[tuple[date, int]]
) -> Decimal:
    """The effective annual rate (4 decimals) of repaying ``financed`` by ``payments``.

    >>> effective_annual_cost(10000, date(2026, 1, 1), [(date(2027, 1, 1), 11000)])
    Decimal('0.1000')
    """
    if financed <= 0 or not payments:
        return Decimal("0.0000")
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        # Payments on the same day add up; the days apart from the start are whole numbers,
        # so (1 + i) ** (days / 365) is d ** days with d = (1 + i) ** (1 / 365): one
        # fractional power a rate tried, then integer powers (exact multiplications at this
        # precision), the later payments' from the earlier ones'. Same root, same rounding,
        # as the term-by-term sum (tests/unit/test_cost.py); it was a fractional power per
        # payment per try, 100 ms for a 24-payment schedule.
        by_day: dict[int, Decimal] = {}
        for d, amount in payments:
            days = max(0, (d - start).days)
            by_day[days] = by_day.get(days, Decimal(0)) + Decimal(amount)
        flows = sorted(by_day.items())
        one_day = Decimal(1) / 365

        def npv(rate: Decimal) -> Decimal:
            daily = (1 + rate) ** one_day
            total, factor, at = Decimal(0), Decimal(1), 0
            for days, amount in flows:
                factor *= daily ** (days - at)
                at = days
                total += amount / factor
            return total - financed

        return root_of(npv)


def root_of(npv: Callable[[Decimal], Decimal]) -> Decimal:
    """The rate (4 decimals) where ``npv`` (decreasing in the rate) crosses 0, by bisection
    over ``[-0.99, 100]``; the bracket's end where it does not cross inside it. Runs in the
    caller's decimal context."""
    low, high = _LOW, _HIGH
    if npv(high) > 0:
        return high.quantize(_QUANTUM)
    if npv(low) < 0:
        return low.quantize(_QUANTUM)
    for _ in range(200):
        mid = (low + high) / 2
        if npv(mid) > 0:
            low = mid
        else:
            high = mid
        if high - low < Decimal("1e-12"):
            break
    return ((low + high) / 2).quantize(_QUANTUM, rounding=decimal.ROUND_HALF_EVEN)
