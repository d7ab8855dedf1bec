"""Charges as rows are booked (charges, waivers, transfers) and as the replay wants them.

A booked row is anything with the fields of :class:`BookedCharge` (the adapters'
``ChargeRecord``); the rules here never see where it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidWaiver
from ledger.domain.replay import Charge


class BookedCharge(Protocol):
    """One charges row: positive for a charge, negative for a waiver or a transfer out."""

    @property
    def charge_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def component(self) -> LedgerComponent: ...
    @property
    def amount(self) -> int: ...
    @property
    def business_date(self) -> date: ...


@dataclass(frozen=True)
class _Reduction:
    charge_id: str
    seq: int
    component: LedgerComponent
    amount: int
    business_date: date


@dataclass
class _Remaining:
    record: BookedCharge
    amount: int


def net_charges(records: Iterable[BookedCharge]) -> list[Charge]:
    """Charges as the replay wants them: positive, net of waivers and transfers out.

    In business-date order (on one date, charges before reductions), a negative row
    (waiver, transfer out) reduces the latest remaining charges of the same instalment and
    component dated on or before it. :func:`unnetted` says how much of the reductions found
    nothing to reduce (a waiver refuses to be booked when it would leave any).
    """
    return _net(records)[0]


def unnetted(records: Iterable[BookedCharge]) -> int:
    """How much of the negative rows found no charge to reduce (see :func:`net_charges`)."""
    return _net(records)[1]


def _net(records: Iterable[BookedCharge]) -> tuple[list[Charge], int]:
    stacks: dict[tuple[int, LedgerComponent], list[_Remaining]] = defaultdict(list)
    ordered: list[_Remaining] = []
    short = 0
    for r in sorted(records, key=lambda c: (c.business_date, c.amount < 0)):
        stack = stacks[(r.seq, r.component)]
        if r.amount > 0:
            stack.append(item := _Remaining(r, r.amount))
            ordered.append(item)
            continue
        left = -r.amount
        for item in reversed(stack):
            take = min(left, item.amount)
            item.amount -= take
            left -= take
        short += left
    charges = [
        Charge(
            i.record.seq, i.record.component, i.amount, i.record.business_date, i.record.charge_id
        )
        for i in ordered
        if i.amount > 0
    ]
    return charges, short


def ensure_waivable(
    charges: Sequence[BookedCharge], seq: int, component: LedgerComponent, amount: int, on: date
) -> None:
    """A waiver of ``amount`` is booked whole or not at all: it must reduce charges of that
    instalment and component dated on or before ``on``, net of earlier reductions, and
    leave every later reduction whole (else ``InvalidWaiver``)."""
    waiver = _Reduction("", seq, component, -amount, on)
    short = unnetted([*charges, waiver]) - unnetted(charges)
    if short > 0:
        raise InvalidWaiver(
            f"waiver of {amount} {component.value} on instalment {seq} dated {on}: only "
            f"{amount - short} is charged on or before that date and not yet waived"
        )


def appends_like_replay(
    *, status: str, credit_balance: int, paid_since: bool, charged_after: bool
) -> bool:
    """Whether appending new charges to a loan is exactly what a replay would do: active,
    no credit held (nothing to apply to a new charge), no live payment valued on or after
    the earliest new charge and no charge booked after it (so no allocation can change)."""
    return status == "active" and credit_balance == 0 and not paid_since and not charged_after
