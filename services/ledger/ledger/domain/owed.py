"""What a borrower owes on a date, and why, in plain terms.

Only instalments due on or before ``as_of`` with something unpaid are owed;
amounts of later instalments are reported as ``not_yet_due`` (useful for a
settlement quote) but are not part of ``total``. Amounts stay integer minor
units; the reason strings show plain major-unit decimals (``800.12``) without
currency symbols, so the caller can localise the presentation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from ledger.domain.allocation import AllocationLine
from ledger.domain.component import LedgerComponent, component_amounts
from ledger.domain.errors import InvalidAllocation
from ledger.domain.money import to_major
from ledger.domain.replay import Charge
from ledger.domain.schedule import Instalment

#: The order components are listed in an explanation.
EXPLANATION_ORDER: tuple[LedgerComponent, ...] = (
    LedgerComponent.PRINCIPAL,
    LedgerComponent.INTEREST,
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
)


@dataclass(frozen=True)
class InstalmentPosition:
    """An instalment's charged amounts (schedule plus charges) and what was paid."""

    seq: int
    due_date: date
    charged: Mapping[LedgerComponent, int] = field(hash=False)
    paid: Mapping[LedgerComponent, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for component in LedgerComponent:
            if self.outstanding(component) < 0:
                raise InvalidAllocation(
                    f"instalment {self.seq}: {component} paid beyond what was charged"
                )
        object.__setattr__(self, "charged", MappingProxyType(dict(self.charged)))
        object.__setattr__(self, "paid", MappingProxyType(dict(self.paid)))

    def outstanding(self, component: LedgerComponent) -> int:
        """Charged minus paid for one component."""
        return self.charged.get(component, 0) - self.paid.get(component, 0)

    def outstanding_amounts(self) -> dict[LedgerComponent, int]:
        """Charged minus paid for every component."""
        return {c: self.outstanding(c) for c in LedgerComponent}


def instalment_positions(
    instalments: Iterable[Instalment],
    charges: Iterable[Charge] = (),
    paid: Iterable[AllocationLine] = (),
    as_of: date | None = None,
) -> tuple[InstalmentPosition, ...]:
    """Positions from a schedule's instalments, charges (net of waivers) and the
    allocation lines of every live payment and credit application.

    Charges booked after ``as_of`` are left out.
    """
    charge_list = [c for c in charges if as_of is None or c.booked_on <= as_of]
    paid_list = list(paid)
    positions = []
    for instalment in instalments:
        charged = component_amounts(
            [
                (LedgerComponent.PRINCIPAL, instalment.principal),
                (LedgerComponent.INTEREST, instalment.interest),
                *((c.component, c.amount) for c in charge_list if c.seq == instalment.seq),
            ]
        )
        paid_amounts = component_amounts(
            (line.component, line.amount) for line in paid_list if line.seq == instalment.seq
        )
        positions.append(
            InstalmentPosition(instalment.seq, instalment.due_date, charged, paid_amounts)
        )
    return tuple(positions)


@dataclass(frozen=True)
class OwedInstalment:
    """One due (or overdue) instalment's unpaid amounts and the sentence explaining them."""

    seq: int
    due_date: date
    days_overdue: int  # 0 when due today
    amounts: Mapping[LedgerComponent, int] = field(hash=False)
    reason: str

    @property
    def total(self) -> int:
        """Everything unpaid on this instalment."""
        return sum(self.amounts.values())


@dataclass(frozen=True)
class OwedBreakdown:
    """Everything owed as of a date: per instalment, per component, and in total."""

    as_of: date
    currency: str
    instalments: tuple[OwedInstalment, ...]
    not_yet_due: int

    @property
    def total(self) -> int:
        """Everything due and unpaid as of ``as_of``."""
        return sum(i.total for i in self.instalments)

    @property
    def by_component(self) -> dict[LedgerComponent, int]:
        """Due and unpaid totals per component."""
        return component_amounts(
            (c, amount) for i in self.instalments for c, amount in i.amounts.items()
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        """One plain sentence per owed instalment, oldest first."""
        return tuple(i.reason for i in self.instalments)

    @property
    def summary(self) -> str:
        """A one-line total."""
        if not self.instalments:
            return f"Nothing is due as of {self.as_of.isoformat()}"
        return (
            f"Total due as of {self.as_of.isoformat()}: {to_major(self.total, self.currency)} "
            f"over {len(self.instalments)} instalment(s)"
        )


def what_is_owed(
    positions: Iterable[InstalmentPosition], as_of: date, currency: str
) -> OwedBreakdown:
    """What is due and unpaid on ``as_of``, oldest instalment first, with reasons."""
    owed: list[OwedInstalment] = []
    not_yet_due = 0
    for position in sorted(positions, key=lambda p: (p.due_date, p.seq)):
        amounts = {c: position.outstanding(c) for c in EXPLANATION_ORDER}
        unpaid = {c: a for c, a in amounts.items() if a > 0}
        if not unpaid:
            continue
        if position.due_date > as_of:
            not_yet_due += sum(unpaid.values())
            continue
        days = (as_of - position.due_date).days
        owed.append(
            OwedInstalment(
                seq=position.seq,
                due_date=position.due_date,
                days_overdue=days,
                amounts=MappingProxyType(unpaid),
                reason=_reason(position.seq, position.due_date, days, unpaid, currency),
            )
        )
    return OwedBreakdown(as_of, currency, tuple(owed), not_yet_due)


def _reason(
    seq: int, due_date: date, days: int, unpaid: Mapping[LedgerComponent, int], currency: str
) -> str:
    when = "due today" if days == 0 else f"{days} day{'s' if days != 1 else ''} overdue"
    parts = ", ".join(f"{c.lower()} {to_major(a, currency)}" for c, a in unpaid.items())
    return f"Instalment {seq} due {due_date.isoformat()} ({when}): {parts}"
