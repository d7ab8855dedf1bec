"""What an accepted restructuring plan does to an instalment it replaces.

Each instalment still owing something is closed at what was already paid on it; its
unpaid penalties, fees and already-recognised interest move to the first new instalment
(``transfer`` charges: receivables that change instalment, no new income). Interest not
yet recognised on a replaced instalment is simply not owed any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.domain.component import LedgerComponent
from ledger.domain.replay import Charge
from ledger.domain.schedule import Instalment
from lendkit.schedules.errors import InvalidSchedule


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


def checked_exact_schedule(
    plan_id: str,
    *,
    quoted_outstanding: int,
    outstanding_principal: int,
    start_seq: int,
    instalments: Sequence[Instalment],
) -> tuple[Instalment, ...]:
    """A plan's exact schedule (``restructure.plan.accepted.v2``), once it conserves the
    balance: quoted on the outstanding principal the ledger has, its principal parts sum to
    it, and it is numbered on from the current schedule; else every discrepancy, refused."""
    problems = []
    if quoted_outstanding != outstanding_principal:
        problems.append(
            f"quoted on an outstanding principal of {quoted_outstanding}, "
            f"the ledger has {outstanding_principal}"
        )
    principal = sum(i.principal for i in instalments)
    if principal != outstanding_principal:
        problems.append(f"the schedule's principal {principal} is not {outstanding_principal}")
    seqs = [i.seq for i in instalments]
    if seqs != list(range(start_seq, start_seq + len(seqs))):
        problems.append(f"instalments must be numbered from {start_seq}, got {seqs}")
    if any(i.principal < 0 or i.interest < 0 for i in instalments):
        problems.append("an instalment has a negative part")
    if problems:
        raise InvalidSchedule(
            f"plan {plan_id} does not conserve the balance: {'; '.join(problems)}"
        )
    return tuple(instalments)
