"""Allocation of one payment across the instalments and components a loan owes.

Rules (all configurable through :class:`AllocationOrder`):

* Instalments already due on the payment's value date are paid before any
  instalment not yet due; within each group instalments go oldest first
  (due date, then sequence number).
* ``OLDEST_FIRST_VERTICAL`` (default): settle the oldest instalment completely,
  component by component in ``components`` order (penalty, fee, interest,
  principal), before touching the next instalment.
* ``HORIZONTAL``: take the first component across every instalment (oldest
  first), then the second component, and so on. The due group is fully
  processed before the not-yet-due group.
* Paying a not-yet-due instalment prepays it as scheduled (its contractual
  interest included); interest rebates on early settlement are a restructure
  decision, not an allocation rule.
* Whatever is left after everything outstanding is paid becomes ``credit``:
  never dropped, never negative. ``sum(lines) + credit == amount`` always.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from ledger.domain.component import DEFAULT_COMPONENT_ORDER, LedgerComponent, component_amounts
from ledger.domain.errors import InvalidAllocation


class AllocationStrategy(StrEnum):
    """Whether a payment walks instalments first (vertical) or components first."""

    OLDEST_FIRST_VERTICAL = "OLDEST_FIRST_VERTICAL"
    HORIZONTAL = "HORIZONTAL"


@dataclass(frozen=True)
class AllocationOrder:
    """A product's allocation configuration."""

    strategy: AllocationStrategy = AllocationStrategy.OLDEST_FIRST_VERTICAL
    components: tuple[LedgerComponent, ...] = DEFAULT_COMPONENT_ORDER

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, AllocationStrategy):
            raise InvalidAllocation(f"unknown allocation strategy {self.strategy!r}")
        if (
            len(self.components) != len(LedgerComponent)
            or set(self.components) != set(LedgerComponent)
            or not all(isinstance(c, LedgerComponent) for c in self.components)
        ):
            raise InvalidAllocation(
                "allocation components must list each of "
                f"{', '.join(LedgerComponent)} exactly once, got {self.components!r}"
            )


@dataclass(frozen=True)
class InstalmentDue:
    """What one instalment still owes, per component, at the moment of allocation."""

    seq: int
    due_date: date
    outstanding: Mapping[LedgerComponent, int] = field(hash=False)

    def __post_init__(self) -> None:
        for component, amount in self.outstanding.items():
            if not isinstance(component, LedgerComponent):
                raise InvalidAllocation(f"instalment {self.seq}: unknown component {component!r}")
            if amount < 0:
                raise InvalidAllocation(
                    f"instalment {self.seq}: negative outstanding {component} {amount}"
                )
        object.__setattr__(self, "outstanding", MappingProxyType(dict(self.outstanding)))

    def owes(self, component: LedgerComponent) -> int:
        """Outstanding amount of one component (0 when absent)."""
        return self.outstanding.get(component, 0)

    @property
    def total(self) -> int:
        """Everything this instalment still owes."""
        return sum(self.outstanding.values())


@dataclass(frozen=True)
class AllocationLine:
    """``amount`` of a payment went to ``component`` of instalment ``seq``."""

    seq: int
    component: LedgerComponent
    amount: int


@dataclass(frozen=True)
class AllocationResult:
    """How a payment (or an application of held credit) was split."""

    lines: tuple[AllocationLine, ...]
    credit: int = 0

    @property
    def allocated(self) -> int:
        """Money that went to instalments."""
        return sum(line.amount for line in self.lines)

    @property
    def amount(self) -> int:
        """The whole amount allocated: instalment lines plus credit."""
        return self.allocated + self.credit

    def by_component(self) -> dict[LedgerComponent, int]:
        """Allocated totals per component (all components present, zeros included)."""
        return component_amounts((line.component, line.amount) for line in self.lines)

    def for_instalment(self, seq: int) -> dict[LedgerComponent, int]:
        """Allocated totals per component for one instalment."""
        return component_amounts(
            (line.component, line.amount) for line in self.lines if line.seq == seq
        )


def allocate_payment(
    amount: int,
    instalments: Iterable[InstalmentDue],
    order: AllocationOrder | None = None,
    value_date: date | None = None,
) -> AllocationResult:
    """Split ``amount`` minor units over what ``instalments`` owe.

    ``value_date`` separates due instalments (``due_date <= value_date``) from not
    yet due ones; ``None`` treats every instalment as due. Lines are emitted in the
    order the money was applied and never carry a zero amount.
    """
    if amount < 0:
        raise InvalidAllocation(f"payment amount must not be negative, got {amount}")
    order = order or AllocationOrder()
    ordered = sorted(instalments, key=lambda i: (i.due_date, i.seq))
    seqs = [i.seq for i in ordered]
    if len(set(seqs)) != len(seqs):
        raise InvalidAllocation(f"duplicate instalment sequence numbers in {sorted(seqs)}")

    due = [i for i in ordered if value_date is None or i.due_date <= value_date]
    not_yet_due = [i for i in ordered if value_date is not None and i.due_date > value_date]

    lines: list[AllocationLine] = []
    remaining = amount
    for group in (due, not_yet_due):
        for seq, component, owed in _walk(group, order):
            if remaining == 0:
                break
            paid = min(owed, remaining)
            if paid > 0:
                lines.append(AllocationLine(seq, component, paid))
                remaining -= paid
    return AllocationResult(lines=tuple(lines), credit=remaining)


def _walk(
    group: Sequence[InstalmentDue], order: AllocationOrder
) -> Iterable[tuple[int, LedgerComponent, int]]:
    """(seq, component, owed) in the order the strategy pays them."""
    if order.strategy is AllocationStrategy.HORIZONTAL:
        for component in order.components:
            for instalment in group:
                yield instalment.seq, component, instalment.owes(component)
    else:
        for instalment in group:
            for component in order.components:
                yield instalment.seq, component, instalment.owes(component)


def apply_allocation(
    instalments: Iterable[InstalmentDue], lines: Iterable[AllocationLine]
) -> tuple[InstalmentDue, ...]:
    """The instalments with ``lines`` subtracted from what they owe."""
    current = tuple(instalments)
    remaining = {i.seq: dict(i.outstanding) for i in current}
    for line in lines:
        if line.seq not in remaining:
            raise InvalidAllocation(f"allocation line for unknown instalment {line.seq}")
        left = remaining[line.seq].get(line.component, 0) - line.amount
        if left < 0:
            raise InvalidAllocation(
                f"instalment {line.seq}: {line.component} over-allocated by {-left}"
            )
        remaining[line.seq][line.component] = left
    return tuple(InstalmentDue(i.seq, i.due_date, remaining[i.seq]) for i in current)
