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
from dataclasses import dataclass
from datetime import date

from overdue.domain.penalty import InvalidWaiver

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
