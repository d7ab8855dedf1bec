"""Forbearance clocks with the dates written out."""

from __future__ import annotations

from datetime import date

from restructure.domain.forbearance import (
    ForbearanceEvent,
    ForbearanceStatus,
    new_forbearance,
    observe,
    start_forbearance,
)


def test_non_performing_loan_cures_then_re_defaults_in_probation_and_restarts() -> None:
    # forborne at DPD 120 on 2026-03-10: cure until at least 2027-03-10
    clock = start_forbearance(date(2026, 3, 10), dpd=120)
    assert clock.status is ForbearanceStatus.CURE
    assert clock.cure_ends_on == date(2027, 3, 10)
    assert clock.probation_ends_on == date(2029, 3, 10)
    assert observe(clock, date(2027, 3, 9), dpd=0) == []  # one day short
    assert observe(clock, date(2027, 3, 10), dpd=3) == []  # still past due
    [cured] = observe(clock, date(2027, 3, 12), dpd=0)
    assert cured.event is ForbearanceEvent.CURE_ENDED
    clock = cured.clock
    assert clock.status is ForbearanceStatus.PROBATION
    assert (clock.probation_starts_on, clock.probation_ends_on) == (
        date(2027, 3, 12),
        date(2029, 3, 12),
    )
    assert observe(clock, date(2028, 1, 5), dpd=30) == []  # 30 is not more than 30
    [redefault] = observe(clock, date(2028, 1, 6), dpd=31)
    assert redefault.event is ForbearanceEvent.RE_DEFAULTED
    clock = redefault.clock
    assert clock.status is ForbearanceStatus.CURE
    assert clock.forborne_on == date(2026, 3, 10)
    assert clock.cure_ends_on == date(2029, 1, 6)
    assert clock.probation_ends_on == date(2031, 1, 6)


def test_performing_loan_goes_straight_to_probation_and_exits_after_two_years() -> None:
    clock = start_forbearance(date(2026, 2, 28), dpd=20)
    assert clock.status is ForbearanceStatus.PROBATION
    assert clock.cure_ends_on is None
    assert clock.probation_ends_on == date(2028, 2, 28)
    [ended] = observe(clock, date(2028, 2, 28), dpd=0)
    assert ended.event is ForbearanceEvent.PROBATION_ENDED
    assert ended.clock.status is ForbearanceStatus.EXITED


def test_new_forbearance_during_probation_restarts_the_clock() -> None:
    clock = start_forbearance(date(2026, 1, 15), dpd=10)
    again = new_forbearance(clock, date(2026, 9, 1), dpd=5)
    assert again.event is ForbearanceEvent.RE_DEFAULTED
    assert again.clock.status is ForbearanceStatus.CURE
    assert again.clock.cure_ends_on == date(2027, 9, 1)
    assert again.clock.probation_ends_on == date(2029, 9, 1)
