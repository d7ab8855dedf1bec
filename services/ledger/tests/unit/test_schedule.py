"""Repayment schedules: worked examples with the numbers written out."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidSchedule
from ledger.domain.money import Rounding
from ledger.domain.periods import DayCount, Frequency
from ledger.domain.product import LoanProduct, ScheduleType
from ledger.domain.schedule import (
    Instalment,
    annuity_payment,
    build_schedule,
    rewrite_remaining_schedule,
)


def _product(**overrides: object) -> LoanProduct:
    terms: dict[str, object] = {
        "code": "CASH-12",
        "currency": "CNY",
        "annual_rate": Decimal("0.18"),
        "term": 12,
    }
    terms.update(overrides)
    return LoanProduct(**terms)  # type: ignore[arg-type]


def test_annuity_payment_for_10000_cny_12_months_at_18_percent_is_916_80() -> None:
    # 1_000_000 * 0.015 / (1 - 1.015 ** -12) = 91679.99.. -> 91680 fen = 916.80 CNY
    assert annuity_payment(1_000_000, Decimal("0.015"), 12, Rounding.HALF_EVEN) == 91680


def test_annuity_10000_cny_12_months_18_percent_worked_example() -> None:
    schedule = build_schedule(1_000_000, _product(), date(2026, 1, 15))
    first, second, *_, last = schedule.instalments
    # Month 1: interest 1_000_000 * 0.015 = 15000; principal 91680 - 15000 = 76680.
    assert first == Instalment(1, date(2026, 2, 15), principal=76680, interest=15000)
    # Month 2: outstanding 923_320; interest 923_320 * 0.015 = 13849.80 -> 13850;
    # principal 91680 - 13850 = 77830.
    assert second == Instalment(2, date(2026, 3, 15), principal=77830, interest=13850)
    # Months 1..11 are exactly 916.80 each.
    assert {i.total for i in schedule.instalments[:-1]} == {91680}
    # Month 12 takes the remaining 90_326 principal; interest 90_326 * 0.015 = 1354.89 -> 1355;
    # the rounding remainder makes it 916.81.
    assert last == Instalment(12, date(2027, 1, 15), principal=90326, interest=1355)
    assert schedule.total_principal == 1_000_000
    assert schedule.total_interest == 100_161  # 11 * 91680 + 91681 - 1_000_000
    assert schedule.total_payment == 1_100_161
    assert schedule.currency == "CNY"
    assert schedule.maturity_date == date(2027, 1, 15)


def test_disbursed_on_the_31st_clamps_to_month_end_and_keeps_the_31st() -> None:
    schedule = build_schedule(1_000_000, _product(term=4), date(2026, 1, 31))
    assert [i.due_date for i in schedule.instalments] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_explicit_first_due_date_sets_the_anchor_day() -> None:
    schedule = build_schedule(
        1_000_000, _product(term=3), date(2026, 1, 20), first_due_date=date(2026, 3, 10)
    )
    assert [i.due_date for i in schedule.instalments] == [
        date(2026, 3, 10),
        date(2026, 4, 10),
        date(2026, 5, 10),
    ]


def test_first_due_date_on_or_before_disbursement_is_rejected() -> None:
    with pytest.raises(InvalidSchedule, match="must be after disbursement"):
        build_schedule(1_000_000, _product(), date(2026, 1, 20), first_due_date=date(2026, 1, 20))


def test_equal_principal_10000_cny_3_months_18_percent_worked_example() -> None:
    product = _product(term=3, schedule_type=ScheduleType.EQUAL_PRINCIPAL)
    schedule = build_schedule(1_000_000, product, date(2026, 1, 15))
    assert schedule.instalments == (
        # 1_000_000 // 3 = 333_333; interest 1_000_000 * 0.015 = 15000
        Instalment(1, date(2026, 2, 15), principal=333_333, interest=15_000),
        # outstanding 666_667 * 0.015 = 10000.005 -> 10000
        Instalment(2, date(2026, 3, 15), principal=333_333, interest=10_000),
        # the last takes the remainder 333_334; 333_334 * 0.015 = 5000.01 -> 5000
        Instalment(3, date(2026, 4, 15), principal=333_334, interest=5_000),
    )


def test_bullet_charges_interest_every_period_and_principal_at_maturity() -> None:
    product = _product(term=3, schedule_type=ScheduleType.BULLET)
    schedule = build_schedule(1_000_000, product, date(2026, 1, 15))
    assert [(i.principal, i.interest) for i in schedule.instalments] == [
        (0, 15_000),
        (0, 15_000),
        (1_000_000, 15_000),
    ]


def test_single_period_bullet_is_one_repayment() -> None:
    product = _product(term=1, schedule_type=ScheduleType.BULLET)
    schedule = build_schedule(500_000, product, date(2026, 1, 15))
    assert schedule.instalments == (Instalment(1, date(2026, 2, 15), 500_000, 7_500),)


@pytest.mark.parametrize("schedule_type", list(ScheduleType))
def test_zero_rate_schedules_have_no_interest_and_repay_the_principal(
    schedule_type: ScheduleType,
) -> None:
    product = _product(annual_rate=Decimal(0), term=3, schedule_type=schedule_type)
    schedule = build_schedule(1_000, product, date(2026, 1, 15))
    assert schedule.total_interest == 0
    assert schedule.total_principal == 1_000
    if schedule_type is not ScheduleType.BULLET:
        assert [i.principal for i in schedule.instalments] == [333, 333, 334]


def test_half_up_product_rounds_a_half_fen_tie_up_where_half_even_rounds_down() -> None:
    # 1_000_300 * 0.015 = 15004.5 fen: half-even -> 15004, half-up -> 15005.
    even = _product(term=1, schedule_type=ScheduleType.BULLET)
    up = _product(term=1, schedule_type=ScheduleType.BULLET, rounding=Rounding.HALF_UP)
    assert build_schedule(1_000_300, even, date(2026, 1, 15)).instalments[0].interest == 15_004
    assert build_schedule(1_000_300, up, date(2026, 1, 15)).instalments[0].interest == 15_005


def test_weekly_period_rate_is_annual_rate_times_7_over_365() -> None:
    # 36.5% a year -> 0.7% a week; 100_000 * 0.007 = 700 each week.
    product = _product(
        annual_rate=Decimal("0.365"),
        term=2,
        frequency=Frequency.WEEKLY,
        schedule_type=ScheduleType.BULLET,
    )
    schedule = build_schedule(100_000, product, date(2026, 3, 2))
    assert schedule.instalments == (
        Instalment(1, date(2026, 3, 9), 0, 700),
        Instalment(2, date(2026, 3, 16), 100_000, 700),
    )


def test_jpy_schedule_is_in_whole_yen() -> None:
    product = _product(currency="JPY", term=2, schedule_type=ScheduleType.EQUAL_PRINCIPAL)
    schedule = build_schedule(100_001, product, date(2026, 1, 15))
    assert schedule.currency == "JPY"
    # 100_001 // 2 = 50_000 then 50_001; interest 1500.015 -> 1500, 50_001 * 0.015 = 750.015 -> 750
    assert [(i.principal, i.interest) for i in schedule.instalments] == [
        (50_000, 1_500),
        (50_001, 750),
    ]


@pytest.mark.parametrize("principal", [0, -5])
def test_non_positive_principal_is_rejected(principal: int) -> None:
    with pytest.raises(InvalidSchedule, match="positive"):
        build_schedule(principal, _product(), date(2026, 1, 15))


def test_rewrite_remaining_schedule_numbers_from_the_start_seq() -> None:
    # Restructure after instalment 4: 5_000.00 CNY left, 12% a year (1% a month), 6 months.
    schedule = rewrite_remaining_schedule(
        500_000,
        _product(),
        annual_rate=Decimal("0.12"),
        term=6,
        first_due_date=date(2026, 7, 31),
        start_seq=5,
    )
    assert [i.seq for i in schedule.instalments] == [5, 6, 7, 8, 9, 10]
    assert [i.due_date for i in schedule.instalments][:3] == [
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 30),
    ]
    assert schedule.instalments[0].interest == 5_000  # 500_000 * 0.01
    assert schedule.total_principal == 500_000


def test_rewrite_can_change_the_schedule_type_and_rejects_bad_terms() -> None:
    schedule = rewrite_remaining_schedule(
        300_000,
        _product(),
        annual_rate=Decimal(0),
        term=3,
        first_due_date=date(2026, 7, 15),
        start_seq=3,
        schedule_type=ScheduleType.EQUAL_PRINCIPAL,
    )
    assert [(i.seq, i.principal, i.interest) for i in schedule.instalments] == [
        (3, 100_000, 0),
        (4, 100_000, 0),
        (5, 100_000, 0),
    ]
    with pytest.raises(InvalidSchedule, match="annual rate"):
        rewrite_remaining_schedule(
            1,
            _product(),
            annual_rate=0.1,  # type: ignore[arg-type]
            term=3,
            first_due_date=date(2026, 7, 15),
            start_seq=1,
        )
    with pytest.raises(InvalidSchedule, match="term"):
        rewrite_remaining_schedule(
            1,
            _product(),
            annual_rate=Decimal("0.1"),
            term=0,
            first_due_date=date(2026, 7, 15),
            start_seq=1,
        )


def test_instalment_as_due_owes_its_principal_and_interest() -> None:
    due = Instalment(1, date(2026, 2, 15), 76_680, 15_000).as_due()
    assert due.owes(LedgerComponent.PRINCIPAL) == 76_680
    assert due.owes(LedgerComponent.INTEREST) == 15_000
    assert due.owes(LedgerComponent.PENALTY) == 0
    assert due.total == 91_680


# Broken first period -------------------------------------------------------------------
# 12,000.00 CNY at 12 % a year, 12 months, disbursed 2026-01-27, first due 2026-02-01:
# 5 actual days, 4 days by 30/360 (30 * (2 - 1) + 1 - 27). A regular month is 120.00.
BROKEN_DISBURSED, BROKEN_FIRST_DUE = date(2026, 1, 27), date(2026, 2, 1)


def _twelve_percent(schedule_type: ScheduleType, day_count: DayCount) -> LoanProduct:
    return _product(annual_rate=Decimal("0.12"), schedule_type=schedule_type, day_count=day_count)


@pytest.mark.parametrize(
    ("day_count", "first_interest"),
    [
        (DayCount.ACT_365, 1_973),  # 1_200_000 * 0.12 * 5 / 365 = 1972.60 -> 19.73
        (DayCount.ACT_360, 2_000),  # 1_200_000 * 0.12 * 5 / 360 = 2000.00 -> 20.00
        (DayCount.THIRTY_360, 1_600),  # 1_200_000 * 0.12 * 4 / 360 = 1600.00 -> 16.00
    ],
)
@pytest.mark.parametrize("schedule_type", list(ScheduleType))
def test_short_first_period_is_charged_its_days_by_the_day_count(
    schedule_type: ScheduleType, day_count: DayCount, first_interest: int
) -> None:
    product = _twelve_percent(schedule_type, day_count)
    schedule = build_schedule(1_200_000, product, BROKEN_DISBURSED, first_due_date=BROKEN_FIRST_DUE)
    # the same loan with a regular first month (disbursed 2026-01-01, due 2026-02-01)
    regular = build_schedule(1_200_000, product, date(2026, 1, 1))
    first, *rest = schedule.instalments
    assert first.due_date == BROKEN_FIRST_DUE
    assert first.interest == first_interest
    assert regular.instalments[0].interest == 12_000  # 1_200_000 * 0.01
    # principal parts are the regular schedule's; later periods are regular
    assert first.principal == regular.instalments[0].principal
    assert tuple(rest) == regular.instalments[1:]
    assert schedule.total_principal == 1_200_000
    assert schedule.total_interest == regular.total_interest - 12_000 + first_interest


def test_short_first_period_annuity_worked_example() -> None:
    schedule = build_schedule(
        1_200_000,
        _twelve_percent(ScheduleType.ANNUITY, DayCount.ACT_365),
        BROKEN_DISBURSED,
        first_due_date=BROKEN_FIRST_DUE,
    )
    # A = 1_200_000 * 0.01 / (1 - 1.01 ** -12) = 106618.55 -> 1066.19; the first principal
    # part is A - the regular interest 120.00 = 946.19; the interest is 5 days: 19.73.
    assert schedule.instalments[0] == Instalment(1, date(2026, 2, 1), 94_619, 1_973)
    assert schedule.instalments[0].total == 96_592  # 965.92 instead of 1066.19
    # outstanding 1_105_381 * 0.01 = 11053.81 -> 110.54; principal 1066.19 - 110.54
    assert schedule.instalments[1] == Instalment(2, date(2026, 3, 1), 95_565, 11_054)
    assert {i.total for i in schedule.instalments[1:-1]} == {106_619}


@pytest.mark.parametrize(
    ("day_count", "first_interest"),
    [
        (DayCount.ACT_365, 16_570),  # 42 days: 1_200_000 * 0.12 * 42 / 365 = 16569.86
        (DayCount.ACT_360, 16_800),  # 42 days: 1_200_000 * 0.12 * 42 / 360 = 16800.00
        (DayCount.THIRTY_360, 17_200),  # 43 days: 30 * 2 + 10 - 27 = 43; 17200.00
    ],
)
def test_long_first_period_is_charged_its_days_by_the_day_count(
    day_count: DayCount, first_interest: int
) -> None:
    product = _twelve_percent(ScheduleType.EQUAL_PRINCIPAL, day_count)
    schedule = build_schedule(
        1_200_000, product, BROKEN_DISBURSED, first_due_date=date(2026, 3, 10)
    )
    assert schedule.instalments[0] == Instalment(1, date(2026, 3, 10), 100_000, first_interest)
    # 1_100_000 * 0.01: the second period is a regular month
    assert schedule.instalments[1] == Instalment(2, date(2026, 4, 10), 100_000, 11_000)


def test_explicit_first_due_date_one_month_out_is_a_regular_period() -> None:
    product = _twelve_percent(ScheduleType.ANNUITY, DayCount.ACT_365)
    explicit = build_schedule(
        1_200_000, product, date(2026, 1, 27), first_due_date=date(2026, 2, 27)
    )
    assert explicit == build_schedule(1_200_000, product, date(2026, 1, 27))
    assert explicit.instalments[0].interest == 12_000


def test_broken_period_interest_rounds_half_even_unless_the_product_says_half_up() -> None:
    # 30/360, 4 days at 12 %: 1_000_875 * 0.12 * 4 / 360 = 1_000_875 / 750 = 1334.5 fen
    def first_interest(rounding: Rounding) -> int:
        product = _product(
            annual_rate=Decimal("0.12"),
            term=1,
            schedule_type=ScheduleType.BULLET,
            day_count=DayCount.THIRTY_360,
            rounding=rounding,
        )
        schedule = build_schedule(
            1_000_875, product, BROKEN_DISBURSED, first_due_date=BROKEN_FIRST_DUE
        )
        return schedule.instalments[0].interest

    assert first_interest(Rounding.HALF_EVEN) == 1_334
    assert first_interest(Rounding.HALF_UP) == 1_335


def test_weekly_short_first_period_follows_the_day_count() -> None:
    # 36.5 % a year, weekly bullet, disbursed Monday 2026-03-02, first due 2026-03-05
    # (3 days): ACT_365 100_000 * 0.365 * 3 / 365 = 300; ACT_360 = 304.17 -> 304.
    for day_count, interest in ((DayCount.ACT_365, 300), (DayCount.ACT_360, 304)):
        product = _product(
            annual_rate=Decimal("0.365"),
            term=2,
            frequency=Frequency.WEEKLY,
            schedule_type=ScheduleType.BULLET,
            day_count=day_count,
        )
        schedule = build_schedule(
            100_000, product, date(2026, 3, 2), first_due_date=date(2026, 3, 5)
        )
        assert schedule.instalments[0] == Instalment(1, date(2026, 3, 5), 0, interest)
        # then a regular week: 100_000 * 0.365 * 7 / basis
        assert schedule.instalments[1].interest == (700 if day_count is DayCount.ACT_365 else 710)
