"""What an accepted restructuring plan does to an instalment it replaces.

Each instalment still owing something is closed at what was already paid on it; its
unpaid penalties, fees and already-recognised interest move to the first new instalment
(``transfer`` charges: receivables that change instalment, no new income). Interest not
yet recognised on a replaced instalment is simply not owed any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.domain.component import LedgerComponent
from ledger.domain.replay import Charge


@dataclass(frozen=True)
class ReplacedInstalment:
    """A replaced instalment closed at what was paid, and what moves to the new schedule."""

    paid_principal: int
    paid_interest: int
    #: (component, amount) moving from this instalment to the first new one, in order.
    moves: tuple[tuple[LedgerComponent, int], ...]


def replace_instalment(
    *,
    seq: int,
    principal: int,
    interest: int,
    outstanding: Mapping[LedgerComponent, int],
    interest_recognised: bool,
    charges: Iterable[Charge],
) -> ReplacedInstalment:
    """Close an instalment that still owes something; ``charges``: the loan's charges net
    of waivers (``net_charges``)."""
    interest_charges = sum(
        c.amount for c in charges if (c.seq, c.component) == (seq, LedgerComponent.INTEREST)
    )
    paid_principal = principal - outstanding[LedgerComponent.PRINCIPAL]
    paid_interest = min(
        interest + interest_charges - outstanding[LedgerComponent.INTEREST], interest
    )
    moves: list[tuple[LedgerComponent, int]] = []
    carried = interest - paid_interest if interest_recognised else 0
    if carried:
        moves.append((LedgerComponent.INTEREST, carried))
    for component in (LedgerComponent.PENALTY, LedgerComponent.FEE):
        if outstanding[component]:
            moves.append((component, outstanding[component]))
    unpaid_contract_interest = interest - paid_interest
    if interest_charges and outstanding[LedgerComponent.INTEREST] > unpaid_contract_interest:
        moves.append(
            (
                LedgerComponent.INTEREST,
                outstanding[LedgerComponent.INTEREST] - unpaid_contract_interest,
            )
        )
    return ReplacedInstalment(paid_principal, paid_interest, tuple(moves))
