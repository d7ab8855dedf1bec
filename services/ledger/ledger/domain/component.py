"""The components an instalment's debt is made of."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class LedgerComponent(StrEnum):
    """A kind of money owed on an instalment.

    PRINCIPAL and INTEREST come from the contract (the schedule); PENALTY and FEE
    are charges booked later (penalties from overdue events, fees from servicing).
    """

    PENALTY = "PENALTY"
    FEE = "FEE"
    INTEREST = "INTEREST"
    PRINCIPAL = "PRINCIPAL"


#: The default payment priority inside one instalment: penalty, fees, interest, principal.
DEFAULT_COMPONENT_ORDER: tuple[LedgerComponent, ...] = (
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
    LedgerComponent.INTEREST,
    LedgerComponent.PRINCIPAL,
)

#: Components that are charges booked after origination (not in the schedule).
CHARGE_COMPONENTS: frozenset[LedgerComponent] = frozenset(
    {LedgerComponent.PENALTY, LedgerComponent.FEE}
)


def component_amounts(pairs: Iterable[tuple[LedgerComponent, int]]) -> dict[LedgerComponent, int]:
    """Sum ``(component, amount)`` pairs into a mapping with every component present."""
    totals = dict.fromkeys(LedgerComponent, 0)
    for component, amount in pairs:
        totals[component] += amount
    return totals


def nonzero(amounts: Mapping[LedgerComponent, int]) -> dict[LedgerComponent, int]:
    """The components of ``amounts`` that are not zero, in default order."""
    return {c: amounts[c] for c in DEFAULT_COMPONENT_ORDER if amounts.get(c, 0) != 0}
