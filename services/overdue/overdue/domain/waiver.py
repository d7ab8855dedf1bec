"""Spreading a penalty waiver over the charges it reduces.

The ledger books each day's penalty as a charge on one instalment, dated that day, and
books a waiver as a reduction of that instalment's penalty charges dated on or before the
waiver (latest first), whole or not at all. So a waiver is spread here the same way before
it is sent: instalment by instalment, oldest first, each taking at most what that
instalment can still waive on the waiver's date. An amount no spread can cover is refused
(``InvalidWaiver``); nothing is capped silently.

What one instalment can still waive on date D: the ledger nets reductions in date order
(charges before reductions on the same date), and a reduction finds nothing to reduce when
the charges dated up to it, net of the reductions dated up to it, are less than it. A new
waiver W dated D leaves every reduction whole iff, at D and at every existing waiver dated
on or after D, ``assessed(<= t) - waived(<= t) - W >= 0``. Hence
``waivable(D) = min over those t of (assessed(<= t) - waived(<= t))``.

Worked example: instalment 2 has 39 assessed on 03-16 and 39 on 03-17; a waiver of 50
was booked on 03-17. On 03-16 only ``min(39 - 0, 78 - 50) = 28`` can still be waived;
on 03-17, also 28.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.penalty import InvalidWaiver
from overdue.domain.policy import PenaltyBase

#: (business date, minor units), for one instalment
Dated = tuple[date, int]


@dataclass(frozen=True)
class InstalmentPenalty:
    """One instalment's penalty as the ledger holds it: charges assessed and waivers."""

    assessed: tuple[Dated, ...]
    waived: tuple[Dated, ...]

    def waivable_on(self, on: date) -> int:
        points = [on, *(d for d, _ in self.waived if d >= on)]
        return max(
            0,
            min(
                sum(a for d, a in self.assessed if d <= t)
                - sum(w for d, w in self.waived if d <= t)
                for t in points
            ),
        )


def spread_waiver(
    amount_minor: int, penalties: Mapping[int, InstalmentPenalty], on: date
) -> list[tuple[int, int]]:
    """``(seq, amount)`` parts of a waiver of ``amount_minor`` dated ``on``, oldest
    instalment first; raises ``InvalidWaiver`` when the instalments cannot take it all."""
    parts: list[tuple[int, int]] = []
    left = amount_minor
    for seq in sorted(penalties):
        if left == 0:
            break
        take = min(left, penalties[seq].waivable_on(on))
        if take > 0:
            parts.append((seq, take))
            left -= take
    if left > 0:
        raise InvalidWaiver(
            f"waiver of {amount_minor} dated {on}: only {amount_minor - left} of the penalty "
            f"assessed on or before that date is not yet waived"
        )
    return parts


def by_instalment(
    assessed: Iterable[tuple[int, date, int]], waived: Iterable[tuple[int, date, int]]
) -> dict[int, InstalmentPenalty]:
    """Group ``(seq, date, amount)`` rows of assessed days and waivers by instalment."""
    a: dict[int, list[Dated]] = {}
    w: dict[int, list[Dated]] = {}
    for seq, on, amount in assessed:
        a.setdefault(seq, []).append((on, amount))
    for seq, on, amount in waived:
        w.setdefault(seq, []).append((on, amount))
    return {
        seq: InstalmentPenalty(tuple(a.get(seq, ())), tuple(w.get(seq, ())))
        for seq in a.keys() | w.keys()
    }


@dataclass(frozen=True)
class AssessedDay:
    """One penalty day as close of business assessed it."""

    on: date
    seq: int
    base_minor: int
    booked_minor: int


def days_a_payment_unwinds(
    days: Iterable[AssessedDay],
    paid: Iterable[tuple[date, int]],
    value_date: date,
) -> list[AssessedDay]:
    """The penalty days a back-dated payment would have prevented.

    ``paid``: ``(due date, amount)`` of what the payment paid of the penalty base
    (principal, or principal and interest, per the policy) on each instalment. Had the
    payment been known on day D (D on or after its value date), D's base would have been
    lower by what it paid on instalments due before D; a day whose base would have been
    nothing would not have accrued, and is unwound (its booked penalty waived). A day the
    payment only lowers keeps its penalty: days are unwound whole, never re-priced.

    Worked example: 38.915 a day on 77_830 overdue from 2026-03-16; 39, 39, 39 booked for
    03-16..03-18. A payment valued 03-17 pays the 77_830: days 03-17 and 03-18 (39 + 39)
    are unwound, 03-16 stays (the payment came after it).
    """
    paid = list(paid)
    unwound = []
    for day in days:
        if day.on < value_date or day.booked_minor <= 0:
            continue
        covered = sum(amount for due, amount in paid if due < day.on)
        if day.base_minor - covered <= 0:
            unwound.append(day)
    return unwound


#: A payment's allocation line: ``(seq, component, amount)``, the component by name
#: (``principal``, ``interest``, ``penalty``, ``fee``).
PaidLine = tuple[int, str, int]


def base_paid(
    penalty_base: PenaltyBase, lines: Iterable[PaidLine], due_dates: Mapping[int, date]
) -> list[tuple[date, int]]:
    """``(due date, amount)`` of what a payment paid of the penalty base (principal, or
    principal and interest, per the policy) on each instalment it names that is known."""
    counted = {"principal"}
    if penalty_base is PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST:
        counted.add("interest")
    return [
        (due_dates[seq], amount)
        for seq, component, amount in lines
        if component in counted and seq in due_dates
    ]


def unwind_parts(
    days: Iterable[AssessedDay], penalties: Mapping[int, InstalmentPenalty]
) -> list[tuple[int, date, int]]:
    """The waiver parts ``(seq, date, amount)`` that unwind ``days``: each day's booked
    penalty, at most what its instalment can still waive on that day (counting the parts
    before it), days that can waive nothing left out."""
    held = dict(penalties)
    parts: list[tuple[int, date, int]] = []
    for day in days:
        instalment = held[day.seq]
        take = min(day.booked_minor, instalment.waivable_on(day.on))
        if take > 0:
            parts.append((day.seq, day.on, take))
            held[day.seq] = replace(instalment, waived=(*instalment.waived, (day.on, take)))
    return parts


def revised_history(
    recorded: Iterable[tuple[date, OverdueBreakdown]],
    lines: Iterable[PaidLine],
    due_dates: Mapping[int, date],
) -> list[tuple[date, OverdueBreakdown]]:
    """A back-dated payment's revision of the recorded past-due days: on each day, what the
    payment paid on instalments due before that day no longer counts as past due."""
    lines = list(lines)
    revised = []
    for on, overdue in recorded:
        paid = dict.fromkeys(("principal", "interest", "penalty", "fee"), 0)
        for seq, component, amount in lines:
            if seq in due_dates and due_dates[seq] < on:
                paid[component] += amount
        revised.append(
            (on, overdue.less(paid["principal"], paid["interest"], paid["penalty"], paid["fee"]))
        )
    return revised
