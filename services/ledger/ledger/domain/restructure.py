"""What an accepted restructuring plan does to an instalment it replaces, and to the
amounts the plan capitalises, carries, waives or writes off.

Each instalment still owing something is closed at what was already paid on it; its
unpaid penalties, fees and already-recognised interest move to the first new instalment
(``transfer`` charges: receivables that change instalment, no new income). Interest not
yet recognised on a replaced instalment is simply not owed any more.

An exact plan (``restructure.plan.accepted.v2``) then says what happens to what moved
(:func:`plan_adjustments`): a capitalised amount leaves the first instalment and joins the
principal (Dr loan principal, Cr the receivable), a waived one leaves it (Dr income, Cr
the receivable), the rest stays carried there. A payment holiday's deferred interest was
never recognised: capitalised it is principal and income at once (Dr loan principal, Cr
interest income), added to the first instalment it is an interest charge there (Dr
interest receivable, Cr interest income), waived it is nothing to book. The ledger checks
that the new schedule's principal is the outstanding principal plus the capitalised
amounts minus the principal written off (:func:`checked_exact_schedule`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Protocol

from ledger.domain.component import LedgerComponent
from ledger.domain.journal import (
    JournalEntry,
    capitalised_entry,
    charge_booked_entry,
    charge_waived_entry,
    deferred_interest_capitalised_entry,
    principal_written_off_entry,
)
from ledger.domain.replay import Charge
from ledger.domain.schedule import Instalment
from lendkit.schedules.errors import InvalidSchedule

#: A plan's amount kinds that are owed components of the ledger.
PLAN_COMPONENTS: Mapping[str, LedgerComponent] = MappingProxyType(
    {
        "penalty": LedgerComponent.PENALTY,
        "fee": LedgerComponent.FEE,
        "interest": LedgerComponent.INTEREST,
    }
)
DEFERRED_INTEREST = "deferred_interest"


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
    capitalised: int = 0,
    written_off_principal: int = 0,
) -> tuple[Instalment, ...]:
    """A plan's exact schedule (``restructure.plan.accepted.v2``), once it conserves the
    balance: quoted on the outstanding principal the ledger has, its principal parts sum to
    it plus ``capitalised`` minus ``written_off_principal``, and it is numbered on from the
    current schedule; else every discrepancy, refused."""
    problems = []
    if quoted_outstanding != outstanding_principal:
        problems.append(
            f"quoted on an outstanding principal of {quoted_outstanding}, "
            f"the ledger has {outstanding_principal}"
        )
    principal = sum(i.principal for i in instalments)
    expected = outstanding_principal + capitalised - written_off_principal
    if principal != expected:
        what = f"{outstanding_principal}"
        if capitalised:
            what += f" + {capitalised} capitalised"
        if written_off_principal:
            what += f" - {written_off_principal} written off"
        problems.append(f"the schedule's principal {principal} is not {expected} ({what})")
    if written_off_principal > outstanding_principal:
        problems.append(
            f"principal written off {written_off_principal} exceeds {outstanding_principal}"
        )
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


@dataclass(frozen=True)
class PlanDisposition:
    """What an exact plan does with the amounts it does not reschedule (by plan kind:
    ``interest``, ``penalty``, ``fee``, ``deferred_interest``)."""

    capitalised: Mapping[str, int] = field(default_factory=dict)
    carried: Mapping[str, int] = field(default_factory=dict)
    waived: Mapping[str, int] = field(default_factory=dict)
    written_off_principal: int = 0

    @property
    def capitalised_total(self) -> int:
        return sum(self.capitalised.values())


@dataclass(frozen=True)
class Adjustment:
    """A charges row on the first new instalment (signed) and its journal entry."""

    component: LedgerComponent
    amount: int
    kind: str
    entry: JournalEntry


@dataclass(frozen=True)
class PlanAdjustments:
    """The rows and entries that book a plan's disposition, and what stays carried."""

    rows: tuple[Adjustment, ...]
    entries: tuple[JournalEntry, ...]
    #: What stays owed with the first new instalment, by plan kind.
    carried: Mapping[str, int]


def plan_adjustments(
    plan_id: str,
    disposition: PlanDisposition,
    moved: Mapping[LedgerComponent, int],
    currency: str,
) -> PlanAdjustments:
    """Book ``disposition`` against what moved to the first new instalment (``moved``, per
    component). Capitalised and waived amounts are taken exactly as quoted and must be
    there to take; whatever else moved stays carried (a penalty assessed since the quote,
    say). Refused (``InvalidSchedule``) naming every amount that is not there."""
    problems = []
    rows: list[Adjustment] = []
    entries: list[JournalEntry] = []
    carried: dict[str, int] = {}
    unknown = sorted(
        k
        for k in (*disposition.capitalised, *disposition.waived, *disposition.carried)
        if k not in PLAN_COMPONENTS and k != DEFERRED_INTEREST
    )
    if unknown:
        problems.append(f"unknown amount kinds {unknown}")
    for kind, component in PLAN_COMPONENTS.items():
        capitalise = disposition.capitalised.get(kind, 0)
        waive = disposition.waived.get(kind, 0)
        there = moved.get(component, 0)
        if capitalise < 0 or waive < 0:
            problems.append(f"{kind}: negative amounts")
            continue
        if capitalise + waive > there:
            problems.append(
                f"{kind}: the plan capitalises {capitalise} and waives {waive}, "
                f"the ledger has {there} owed"
            )
            continue
        if capitalise:
            rows.append(
                Adjustment(
                    component,
                    -capitalise,
                    "capitalised",
                    capitalised_entry(component, capitalise, currency),
                )
            )
        if waive:
            rows.append(
                Adjustment(
                    component, -waive, "waived", charge_waived_entry(component, waive, currency)
                )
            )
        if left := there - capitalise - waive:
            carried[kind] = left
    deferred_capitalised = disposition.capitalised.get(DEFERRED_INTEREST, 0)
    if deferred_capitalised > 0:
        entries.append(deferred_interest_capitalised_entry(deferred_capitalised, currency))
    deferred_carried = disposition.carried.get(DEFERRED_INTEREST, 0)
    if deferred_carried > 0:
        interest = LedgerComponent.INTEREST
        rows.append(
            Adjustment(
                interest,
                deferred_carried,
                "assessed",
                charge_booked_entry(interest, deferred_carried, currency),
            )
        )
        carried[DEFERRED_INTEREST] = deferred_carried
    if disposition.written_off_principal > 0:
        entries.append(principal_written_off_entry(disposition.written_off_principal, currency))
    if problems:
        raise InvalidSchedule(f"plan {plan_id} cannot be booked: {'; '.join(problems)}")
    return PlanAdjustments(tuple(rows), tuple(entries), MappingProxyType(carried))


def moved_totals(moves: Iterable[tuple[LedgerComponent, int]]) -> dict[LedgerComponent, int]:
    """What moved to the first new instalment, per component."""
    totals: dict[LedgerComponent, int] = {}
    for component, amount in moves:
        totals[component] = totals.get(component, 0) + amount
    return totals


def spread_waiver(charged: Mapping[int, int], amount: int) -> list[tuple[int, int]]:
    """A waiver of ``amount`` over the instalments it can reduce (``charged``: seq -> what
    is charged there, net of earlier waivers), oldest instalment first; refused
    (``InvalidSchedule``) when more is waived than is charged."""
    available = sum(v for v in charged.values() if v > 0)
    if amount > available:
        raise InvalidSchedule(f"a waiver of {amount} exceeds the {available} charged")
    spread = []
    left = amount
    for seq in sorted(charged):
        take = min(left, max(charged[seq], 0))
        if take:
            spread.append((seq, take))
            left -= take
    return spread


class _Paid(Protocol):
    @property
    def value_date(self) -> date: ...
    @property
    def amount(self) -> int: ...
    @property
    def reversed(self) -> bool: ...


def settlement_paid(accepted_on: date, deadline: date, payments: Iterable[_Paid]) -> int:
    """What counts towards a discounted settlement: live payments valued from its
    acceptance to its deadline, both included."""
    return sum(
        p.amount for p in payments if not p.reversed and accepted_on <= p.value_date <= deadline
    )


def charged_by_seq(
    charges: Iterable[Charge], component: LedgerComponent, on: date, seqs: Iterable[int]
) -> dict[int, int]:
    """Per instalment in ``seqs``: ``component`` charged on or before ``on``, net of
    reductions (``charges`` as :func:`ledger.domain.charges.net_charges` gives them)."""
    wanted = set(seqs)
    totals: dict[int, int] = {}
    for c in charges:
        if c.component is component and c.seq in wanted and c.booked_on <= on:
            totals[c.seq] = totals.get(c.seq, 0) + c.amount
    return totals
