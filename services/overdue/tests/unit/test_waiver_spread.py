"""Spreading a waiver over instalments, as the ledger nets it (see domain.waiver)."""

from __future__ import annotations

from datetime import date

import pytest

from overdue.domain.penalty import InvalidWaiver
from overdue.domain.waiver import (
    AssessedDay,
    InstalmentPenalty,
    by_instalment,
    days_a_payment_unwinds,
    spread_waiver,
)

D16, D17, D18 = date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)


def test_waivable_counts_only_charges_on_or_before_the_waiver_and_keeps_later_waivers_whole() -> (
    None
):
    """39 on 03-16, 39 on 03-17, a waiver of 50 on 03-17: on 03-16 min(39, 78 - 50) = 28."""
    p = InstalmentPenalty(assessed=((D16, 39), (D17, 39)), waived=((D17, 50),))
    assert p.waivable_on(date(2026, 3, 15)) == 0
    assert p.waivable_on(D16) == 28
    assert p.waivable_on(D18) == 28


def test_waiver_is_spread_oldest_instalment_first() -> None:
    penalties = by_instalment([(3, D17, 40), (2, D16, 78)], [])
    assert spread_waiver(100, penalties, D18) == [(2, 78), (3, 22)]
    assert spread_waiver(50, penalties, D16) == [(2, 50)]


def test_waiver_that_cannot_apply_whole_is_refused() -> None:
    penalties = by_instalment([(2, D16, 78), (3, D17, 40)], [(2, D17, 8)])
    with pytest.raises(InvalidWaiver, match="only 70"):
        spread_waiver(71, penalties, D16)


def test_back_dated_payment_unwinds_only_the_days_it_would_have_prevented_whole() -> None:
    """38.915 a day on 77_830; 39 booked for 03-16..03-18. A payment valued 03-17 paying the
    77_830 (instalment due 03-15) unwinds 03-17 and 03-18; 03-16 came before it. Paying
    77_000 only lowers the base: no day is unwound."""
    days = [AssessedDay(date(2026, 3, d), 2, 77_830, 39) for d in (16, 17, 18)]
    due = date(2026, 3, 15)
    assert [d.on.day for d in days_a_payment_unwinds(days, [(due, 77_830)], D17)] == [17, 18]
    assert days_a_payment_unwinds(days, [(due, 77_000)], D17) == []
