"""What the borrower is told: DPD, bucket, both grace windows, each penalty day."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.escalation import Stage
from overdue.domain.explain import LoanFacts, explain, format_major, format_rate_percent
from overdue.domain.penalty import (
    CapApplied,
    DayPosition,
    LoanTerms,
    PenaltyDay,
    PenaltyState,
    accrue_over_days,
)
from overdue.domain.policy import OverduePolicy

pytestmark = pytest.mark.unit

LOAN = LoanTerms(principal_minor=1_000_000, disbursed_on=date(2026, 1, 15))
DUE = date(2026, 3, 15)
OVERDUE = OverdueBreakdown(principal_minor=77_830, interest_minor=13_850)
FACTS = LoanFacts(loan_id="L-1", currency="CNY", oldest_unpaid_due_date=DUE, overdue=OVERDUE)


def penalty_days(policy: OverduePolicy, last: date) -> tuple[PenaltyDay, ...]:
    positions = [
        DayPosition(
            on=DUE + timedelta(days=n),
            oldest_unpaid_due_date=DUE,
            overdue=OVERDUE,
            interest_charged_to_date_minor=28_850,
        )
        for n in range(1, (last - DUE).days + 1)
    ]
    return accrue_over_days(PenaltyState(), LOAN, positions, policy)[0]


def test_amounts_are_formatted_from_minor_units_with_two_decimals() -> None:
    assert format_major(1_000_000, "CNY") == "10,000.00 CNY"
    assert format_major(39, "CNY") == "0.39 CNY"
    assert format_major(-5, "USD") == "-0.05 USD"
    assert format_rate_percent(Decimal("0.0005")) == "0.05%"
    assert format_rate_percent(Decimal("0.001")) == "0.1%"


def test_explanation_shows_both_grace_windows_and_every_penalty_day() -> None:
    """Arrears grace 3 days ends 2026-03-18 (overdue from 2026-03-19); penalty grace 1 day
    ends 2026-03-16 (penalty from 2026-03-17). On 2026-03-20: DPD 5, 4 penalty days of
    39 each (38.915 -> 39, 77.83 -> 78, 116.745 -> 117, 155.66 -> 156)."""
    policy = OverduePolicy(arrears_grace_days=3, penalty_grace_days=1)
    as_of = date(2026, 3, 20)
    e = explain(FACTS, as_of, policy, penalty_days(policy, as_of))
    assert (e.dpd, e.bucket, e.stage, e.in_arrears) == (5, "1-30", Stage.EARLY, True)
    assert (e.arrears_grace.days, e.arrears_grace.ends_on) == (3, date(2026, 3, 18))
    assert (e.penalty_grace.days, e.penalty_grace.ends_on) == (1, date(2026, 3, 16))
    assert (e.overdue_from, e.penalty_from) == (date(2026, 3, 19), date(2026, 3, 17))
    assert [(d.on, d.base_minor, d.exact, d.booked_minor) for d in e.penalty_days] == [
        (date(2026, 3, 17), 77_830, Decimal("38.915"), 39),
        (date(2026, 3, 18), 77_830, Decimal("38.915"), 39),
        (date(2026, 3, 19), 77_830, Decimal("38.915"), 39),
        (date(2026, 3, 20), 77_830, Decimal("38.915"), 39),
    ]
    assert e.penalty_booked_minor == 156
    assert e.text_en == (
        "Your payment due on 2026-03-15 is 5 days overdue; the 3-day grace period ended on "
        "2026-03-18. Overdue amount: 916.80 CNY. Late-payment interest of 0.05% a day on the "
        "overdue principal applies from 2026-03-17; owed so far: 1.56 CNY."
    )
    assert e.text_zh_cn == (
        "您于2026-03-15到期的还款已逾期5天，3天宽限期已于2026-03-18结束。逾期金额：916.80 CNY。"
        "自2026-03-17起按逾期本金每日0.05%计收罚息，目前应付罚息1.56 CNY。"
    )
    assert e.text("zh-CN") == e.text_zh_cn
    assert e.text("en-GB") == e.text_en


def test_explanation_within_grace_says_when_grace_ends_and_penalty_starts() -> None:
    policy = OverduePolicy(arrears_grace_days=3, penalty_grace_days=3)
    e = explain(FACTS, date(2026, 3, 17), policy, ())
    assert (e.dpd, e.in_arrears, e.penalty_booked_minor) == (2, False, 0)
    assert "within the 3-day grace period, which ends on 2026-03-18" in e.text_en
    assert "starts on 2026-03-19 if it is still unpaid" in e.text_en
    assert "宽限期至2026-03-18结束" in e.text_zh_cn
    assert "如仍未还款，自2026-03-19起" in e.text_zh_cn


def test_explanation_names_the_cap_that_stopped_the_penalty() -> None:
    """Absolute cap 100: 39 + 39 + 22 (capped) then 0, 0."""
    policy = OverduePolicy(absolute_penalty_cap_minor=100)
    as_of = date(2026, 3, 20)
    e = explain(FACTS, as_of, policy, penalty_days(policy, as_of))
    assert [d.booked_minor for d in e.penalty_days] == [39, 39, 22, 0, 0]
    assert [d.cap_applied for d in e.penalty_days][2:] == [CapApplied.ABSOLUTE_PENALTY_CAP] * 3
    assert (e.capped_since, e.cap_applied) == (date(2026, 3, 18), CapApplied.ABSOLUTE_PENALTY_CAP)
    assert "Since 2026-03-18 it has been limited by the maximum late-payment interest" in e.text_en
    assert "自2026-03-18起，因罚息已达本借款上限，罚息受限。" in e.text_zh_cn


def test_explanation_shows_waived_penalty_and_what_is_still_owed() -> None:
    policy = OverduePolicy()
    as_of = date(2026, 3, 18)
    facts = LoanFacts("L-1", "CNY", DUE, OVERDUE, penalty_waived_minor=17)
    e = explain(facts, as_of, policy, penalty_days(policy, as_of))
    assert (e.penalty_booked_minor, e.penalty_owed_minor) == (117, 100)
    assert "owed so far: 1.00 CNY (0.17 CNY waived)" in e.text_en
    assert "目前应付罚息1.00 CNY（已减免0.17 CNY）" in e.text_zh_cn


def test_explanation_of_a_current_loan() -> None:
    e = explain(LoanFacts("L-2", "CNY", None), date(2026, 3, 20), OverduePolicy(), ())
    assert (e.dpd, e.bucket, e.stage, e.arrears_grace.ends_on) == (
        0,
        "current",
        Stage.CURRENT,
        None,
    )
    assert e.text_en == "Nothing on your loan is overdue as of 2026-03-20."
    assert e.text_zh_cn == "截至2026-03-20，您的借款没有逾期款项。"


def test_penalty_days_after_as_of_are_left_out() -> None:
    policy = OverduePolicy()
    days = penalty_days(policy, date(2026, 3, 25))
    e = explain(FACTS, date(2026, 3, 17), policy, days)
    assert [d.on for d in e.penalty_days] == [date(2026, 3, 16), date(2026, 3, 17)]
