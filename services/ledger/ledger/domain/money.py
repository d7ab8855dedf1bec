"""Money as integer minor units: the kit's :mod:`lendkit.schedules.money`, re-exported."""

from __future__ import annotations

from lendkit.schedules.money import (
    CALCULATION_PRECISION,
    CURRENCY_EXPONENTS,
    Rounding,
    currency_exponent,
    is_known_currency,
    round_minor,
    to_major,
    to_minor,
)

__all__ = [
    "CALCULATION_PRECISION",
    "CURRENCY_EXPONENTS",
    "Rounding",
    "currency_exponent",
    "is_known_currency",
    "round_minor",
    "to_major",
    "to_minor",
]
