"""A back-dated payment's rules (domain.waiver): what it paid of the penalty base, the
waiver parts that unwind the days it would have prevented, and the revised history."""

from __future__ import annotations

from datetime import date

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.policy import PenaltyBase
from overdue.domain.waiver import (
    AssessedDay,
    InstalmentPenalty,
    base_paid,
    revised_history,
    unwind_parts,
)

D15, D16, D17, D18 = date(2026, 3, 15), date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)
DUE = {1: date(2026, 2, 15), 2: D15}
LINES = [(2, "principal", 77_830), (2, "interest", 13_850), (2, "penalty", 39), (9, "principal", 5)]


def test_base_paid_counts_the_policys_base_on_known_instalments() -> None:
    assert base_paid(PenaltyBase.OVERDUE_PRINCIPAL, LINES, DUE) == [(D15, 77_830)]
    assert base_paid(PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST, LINES, DUE) == [
        (D15, 77_830),
        (D15, 13_850),
    ]


def test_unwind_parts_take_each_day_at_most_what_is_still_waivable() -> None:
    """39 + 39 on instalment 2, 50 already waived on 03-17: 03-16 can give 28, 03-17 nothing
    more (the earlier part counts)."""
    penalties = {2: InstalmentPenalty(assessed=((D16, 39), (D17, 39)), waived=((D17, 50),))}
    days = [AssessedDay(D16, 2, 77_830, 39), AssessedDay(D17, 2, 77_830, 39)]
    assert unwind_parts(days, penalties) == [(2, D16, 28)]
    assert penalties[2].waived == ((D17, 50),)  # the caller's penalties are left as they were


def test_revised_history_takes_off_what_was_paid_on_instalments_due_before_each_day() -> None:
    recorded = [
        (D15, OverdueBreakdown(76_680, 15_000, 0, 0)),
        (D16, OverdueBreakdown(77_830, 13_850, 39, 0)),
    ]
    assert revised_history(recorded, LINES, DUE) == [
        (D15, OverdueBreakdown(76_680, 15_000, 0, 0)),  # instalment 2 not yet due on 03-15
        (D16, OverdueBreakdown(0, 0, 0, 0)),
    ]
