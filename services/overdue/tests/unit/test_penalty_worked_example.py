"""The worked example, with every number written out so it can be checked by hand.

Loan: 10,000.00 CNY (1_000_000 minor), 12 monthly instalments, 18 % a year
(1.5 % a month), equal instalments (annuity), disbursed 2026-01-15.

    payment     = 1_000_000 * 0.015 / (1 - 1.015**-12) = 91_679.99... -> 91_680
    instalment 1 (due 2026-02-15): interest 1_000_000 * 0.015 = 15_000, principal 76_680
    instalment 2 (due 2026-03-15): interest round(923_320 * 0.015) = round(13_849.8)
                                   = 13_850, principal 91_680 - 13_850 = 77_830

Instalment 1 is paid; instalment 2 is not. Arrears grace 3 days, penalty grace 0,
penalty 0.05 % a day on overdue principal: 77_830 * 0.0005 = 38.915 minor a day.
The penalty grace is a separate setting (0 here), so penalty runs from DPD 1 while the
loan only counts as overdue from DPD 4.

    day  date        DPD  cumulative exact  round  booked
    1    2026-03-16  1     38.915            39    39
    2    2026-03-17  2     77.830            78    39
    3    2026-03-18  3    116.745           117    39
    4    2026-03-19  4    155.660           156    39   <- loan becomes overdue (DPD 4 > 3)
    5    2026-03-20  5    194.575           195    39
    6    2026-03-21  6    233.490           233    38   <- the carry gives one back
    7    2026-03-22  7    272.405           272    39
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.delinquency import days_past_due, is_in_arrears, overdue_from
from overdue.domain.penalty import (
    CapApplied,
    DayPosition,
    LoanTerms,
    PenaltyState,
    accrue_over_days,
    cost_ceiling_minor,
)
from overdue.domain.policy import OverduePolicy

pytestmark = pytest.mark.unit

LOAN = LoanTerms(principal_minor=1_000_000, disbursed_on=date(2026, 1, 15))
INSTALMENT_2_DUE = date(2026, 3, 15)
INSTALMENT_2 = OverdueBreakdown(principal_minor=77_830, interest_minor=13_850)
POLICY = OverduePolicy(arrears_grace_days=3, penalty_daily_rate=Decimal("0.0005"))


def position_on(on: date, fee: int = 0) -> DayPosition:
    """Instalment 2 unpaid throughout; interest of instalments 1 and 2 (15_000 + 13_850)
    charged. ``fee`` is a late fee charged on 2026-03-19, the day the loan becomes overdue.
    Used up to 2026-04-14, before instalment 3 falls due."""
    assert on < date(2026, 4, 15)
    return DayPosition(
        on=on,
        oldest_unpaid_due_date=INSTALMENT_2_DUE,
        overdue=INSTALMENT_2,
        interest_charged_to_date_minor=15_000 + 13_850,
        fees_charged_to_date_minor=fee if on >= date(2026, 3, 19) else 0,
    )


def days_from(first: date, last: date, fee: int = 0) -> list[DayPosition]:
    return [position_on(first + timedelta(days=n), fee) for n in range((last - first).days + 1)]


def test_worked_example_schedule_numbers() -> None:
    rate = Decimal("0.015")
    payment = Decimal(1_000_000) * rate / (1 - (1 + rate) ** -12)
    assert payment.quantize(Decimal(1), rounding=ROUND_HALF_EVEN) == 91_680
    assert (Decimal(923_320) * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) == 13_850
    assert 91_680 - 13_850 == 77_830


def test_loan_becomes_overdue_on_dpd_4_after_three_days_of_grace() -> None:
    assert days_past_due(INSTALMENT_2_DUE, date(2026, 3, 15)) == 0
    assert days_past_due(INSTALMENT_2_DUE, date(2026, 3, 18)) == 3
    assert not is_in_arrears(3, POLICY)
    assert days_past_due(INSTALMENT_2_DUE, date(2026, 3, 19)) == 4
    assert is_in_arrears(4, POLICY)
    assert overdue_from(INSTALMENT_2_DUE, POLICY) == date(2026, 3, 19)


def test_penalty_books_39_39_39_39_39_38_39_with_rounding_carry() -> None:
    days, state = accrue_over_days(
        PenaltyState(), LOAN, days_from(date(2026, 3, 15), date(2026, 3, 22)), POLICY
    )
    # 2026-03-15 is the due date (DPD 0): no penalty day for it.
    assert [d.on for d in days] == [date(2026, 3, 16) + timedelta(days=n) for n in range(7)]
    assert [d.dpd for d in days] == [1, 2, 3, 4, 5, 6, 7]
    assert {d.base_minor for d in days} == {77_830}
    assert {d.exact for d in days} == {Decimal("38.915")}
    assert [d.booked_minor for d in days] == [39, 39, 39, 39, 39, 38, 39]
    assert state.cumulative_exact == Decimal("272.405")
    assert state.assessed_to_date_minor == 272
    assert all(d.cap_applied is None for d in days)


def test_penalty_stops_at_absolute_cap_of_1000_on_2026_04_10() -> None:
    """After 25 days: round(25 * 38.915) = round(972.875) = 973. Day 26 (2026-04-10)
    would round to round(1_011.79) = 1_012, i.e. book 39, but only 1_000 - 973 = 27
    is left under the cap. From 2026-04-11 nothing more is booked."""
    capped = OverduePolicy(arrears_grace_days=3, absolute_penalty_cap_minor=1_000)
    days, state = accrue_over_days(
        PenaltyState(), LOAN, days_from(date(2026, 3, 16), date(2026, 4, 14)), capped
    )
    by_date = {d.on: d for d in days}
    assert sum(d.booked_minor for d in days if d.on <= date(2026, 4, 9)) == 973
    assert by_date[date(2026, 4, 9)].cap_applied is None
    cap_day = by_date[date(2026, 4, 10)]
    assert (cap_day.booked_minor, cap_day.forgone_minor) == (27, 12)
    assert cap_day.cap_applied is CapApplied.ABSOLUTE_PENALTY_CAP
    after = [d for d in days if d.on > date(2026, 4, 10)]
    assert [d.booked_minor for d in after] == [0, 0, 0, 0]
    assert {d.cap_applied for d in after} == {CapApplied.ABSOLUTE_PENALTY_CAP}
    assert state.assessed_to_date_minor == 1_000


def test_penalty_clipped_to_ceiling_headroom_on_the_day_a_late_fee_is_charged() -> None:
    """Default ceiling 24 % a year on the 1_000_000 principal; a 131.00 CNY late fee
    (13_100 minor) is charged on 2026-03-19, the day the loan becomes overdue.

    2026-03-19: elapsed 2026-01-15..2026-03-19 inclusive = 17 + 28 + 19 = 64 days;
      ceiling floor(1_000_000 * 0.24 * 64 / 365) = floor(42_082.19) = 42_082;
      cost 28_850 interest + 13_100 fee + 117 penalty so far = 42_067; headroom 15.
      The carry would book round(155.66) - 117 = 39: 15 is booked, 24 forgone.
    2026-03-20: 65 days, ceiling floor(42_739.73) = 42_739; cost 41_950 + 132 = 42_082,
      headroom 657. The carry was reset to 132, so round(170.915) - 132 = 39 is booked.
    """
    days, state = accrue_over_days(
        PenaltyState(), LOAN, days_from(date(2026, 3, 16), date(2026, 3, 20), fee=13_100), POLICY
    )
    assert [d.booked_minor for d in days] == [39, 39, 39, 15, 39]
    clipped = days[3]
    assert clipped.on == date(2026, 3, 19)
    assert clipped.cap_applied is CapApplied.ANNUAL_COST_CEILING
    assert clipped.forgone_minor == 24
    assert days[4].cap_applied is None
    assert state.assessed_to_date_minor == 171


def test_penalty_stops_at_combined_annual_cap() -> None:
    """Default ceiling 24 %; a 200.00 CNY fee (20_000 minor) charged on 2026-03-19 takes
    the cost to 28_850 + 20_000 + 117 = 48_967, above the ceiling, so penalty stops.

    2026-03-19 (64 days): ceiling 42_082   -> booked 0
    2026-03-29 (74 days): ceiling floor(48_657.53) = 48_657 < 48_967 -> booked 0
    2026-03-30 (75 days): ceiling floor(49_315.07) = 49_315, headroom 348 -> booked
      round(117 + 38.915) - 117 = 39: the annualised ceiling has grown past the cost.
    """
    days, state = accrue_over_days(
        PenaltyState(), LOAN, days_from(date(2026, 3, 16), date(2026, 3, 30), fee=20_000), POLICY
    )
    assert cost_ceiling_minor(LOAN, date(2026, 3, 19), POLICY) == 42_082
    assert cost_ceiling_minor(LOAN, date(2026, 3, 29), POLICY) == 48_657
    assert cost_ceiling_minor(LOAN, date(2026, 3, 30), POLICY) == 49_315
    stopped = [d for d in days if date(2026, 3, 19) <= d.on <= date(2026, 3, 29)]
    assert len(stopped) == 11
    assert {d.booked_minor for d in stopped} == {0}
    assert {d.cap_applied for d in stopped} == {CapApplied.ANNUAL_COST_CEILING}
    assert (days[-1].on, days[-1].booked_minor, days[-1].cap_applied) == (
        date(2026, 3, 30),
        39,
        None,
    )
    assert state.assessed_to_date_minor == 117 + 39


def test_contract_interest_alone_above_ceiling_leaves_no_room_for_penalty() -> None:
    """Ceiling 10 % a year: on 2026-03-16 (61 days) it is floor(100_000 * 61 / 365) =
    16_712, already below the 28_850 contract interest charged, so no penalty at all
    is booked while that holds (until 2026-04-14: 90 days -> 24_657 < 28_850)."""
    low = OverduePolicy(arrears_grace_days=3, annual_cost_ceiling=Decimal("0.10"))
    assert cost_ceiling_minor(LOAN, date(2026, 3, 16), low) == 16_712
    assert cost_ceiling_minor(LOAN, date(2026, 4, 14), low) == 24_657
    days, state = accrue_over_days(
        PenaltyState(), LOAN, days_from(date(2026, 3, 16), date(2026, 4, 14)), low
    )
    assert len(days) == 30
    assert {d.booked_minor for d in days} == {0}
    assert {d.cap_applied for d in days} == {CapApplied.ANNUAL_COST_CEILING}
    assert state.assessed_to_date_minor == 0
