"""Worked examples of every plan type's quote (amounts in fen)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from lendkit.schedules import ScheduledInstalment, ScheduleType
from restructure.domain.errors import InvalidPlan, UnbalancedQuote
from restructure.domain.plans import (
    DeferredInterest,
    PlanType,
    current_terms,
    discounted_settlement,
    payment_holiday,
    penalty_waiver,
    promise_to_pay,
    rate_reduction,
    re_amortisation,
    term_extension,
)

from .positions import position

ZERO = Decimal(0)


def test_rate_reduction_to_zero_splits_the_principal_evenly_over_the_kept_dates() -> None:
    # 0 % loan of 1,200.00 over 12 months, 2 paid, 1 overdue: 1,000.00 unpaid.
    p = position(principal=120_000, annual_rate=ZERO, dpd=14)
    assert p.outstanding_principal == 100_000 and p.overdue_principal == 10_000
    q = rate_reduction(p, ZERO)
    # nine remaining dates (2026-05-01 .. 2027-01-01) carry the 1,000.00
    assert q.instalments[0].due_date == date(2026, 5, 1)
    assert [i.principal for i in q.instalments] == [11_111] * 8 + [11_112]
    assert q.total_interest == 0 and q.total_cost == 100_000
    assert q.effective_annual_cost == Decimal("0.0000")


def test_rate_reduction_to_zero_on_an_interest_bearing_loan() -> None:
    p = position(penalty=1_500)
    q = rate_reduction(p, ZERO)
    assert q.new_principal == p.outstanding_principal
    assert q.total_interest == 0
    # the overdue instalment's recognised interest and the penalty come with the first one
    assert dict(q.carried) == {"interest": p.overdue_interest, "penalty": 1_500}
    assert q.reconciliation_errors(p) == []


def test_rate_reduction_cannot_raise_the_rate() -> None:
    with pytest.raises(InvalidPlan, match="between 0"):
        rate_reduction(position(), Decimal("0.2"))


def test_term_extension_folds_the_overdue_principal_in_and_extends_the_term() -> None:
    p = position(principal=120_000, annual_rate=ZERO)
    q = term_extension(p, 3)
    # 1,000.00 over 9 + 3 = 12 periods from the next due date
    assert len(q.instalments) == 12
    assert q.instalments[0].seq == 13 and q.instalments[0].due_date == date(2026, 5, 1)
    assert q.instalments[-1].due_date == date(2027, 4, 1)
    assert [i.principal for i in q.instalments] == [8_333] * 11 + [8_337]


def test_re_age_after_maturity_starts_one_period_after_today() -> None:
    # everything fell due by 2027-01-01; on 2027-03-10 nothing remains to keep
    p = position(principal=120_000, annual_rate=ZERO, as_of=date(2027, 3, 10), dpd=100)
    assert p.remaining == ()
    q = term_extension(p, 4)
    assert [i.due_date for i in q.instalments] == [
        date(2027, 4, 10),
        date(2027, 5, 10),
        date(2027, 6, 10),
        date(2027, 7, 10),
    ]
    assert [i.principal for i in q.instalments] == [25_000] * 4
    assert q.reconciliation_errors(p) == []
    with pytest.raises(InvalidPlan, match="matured"):
        re_amortisation(p)


def test_term_extension_can_capitalise_the_arrears_explicitly() -> None:
    p = position(penalty=2_000, fee=500)
    q = term_extension(p, 6, capitalise_arrears=True)
    assert dict(q.capitalised) == {"interest": p.overdue_interest, "penalty": 2_000, "fee": 500}
    assert q.new_principal == p.outstanding_principal + p.overdue_interest + 2_500
    assert q.carried == {}


def test_re_amortisation_keeps_the_due_dates() -> None:
    p = position()
    q = re_amortisation(p)
    assert [i.due_date for i in q.instalments] == [i.due_date for i in p.remaining]
    assert q.new_principal == p.outstanding_principal


def test_payment_holiday_three_ways() -> None:
    # 1,000.00 unpaid at 12 %: each deferred month is 10.00 of interest
    p = position(principal=120_000, annual_rate=Decimal("0.12"), paid=2)
    outstanding = p.outstanding_principal
    monthly = round(outstanding * Decimal("0.01"))
    cap = payment_holiday(p, 2, DeferredInterest.CAPITALISE)
    assert dict(cap.carried) == {"interest": p.overdue_interest}
    assert cap.capitalised["deferred_interest"] == 2 * monthly
    assert cap.new_principal == outstanding + 2 * monthly
    # two periods skipped: first new due date 2026-07-01 (next due was 2026-05-01)
    assert cap.instalments[0].due_date == date(2026, 7, 1)
    add = payment_holiday(p, 2, DeferredInterest.ADD_TO_FIRST)
    assert add.carried["deferred_interest"] == 2 * monthly
    assert add.new_principal == outstanding
    assert add.first_instalment_total == (
        add.instalments[0].total + 2 * monthly + p.overdue_interest
    )
    waive = payment_holiday(p, 2, DeferredInterest.WAIVE)
    assert waive.waived["deferred_interest"] == 2 * monthly
    assert waive.total_cost < add.total_cost


def test_penalty_waiver_partial_keeps_the_schedule() -> None:
    p = position(penalty=3_000, fee=1_000)
    q = penalty_waiver(p, penalty=2_000)
    assert q.instalments == p.unpaid and not q.rewrites_schedule
    assert dict(q.waived) == {"penalty": 2_000, "fee": 1_000}
    assert dict(q.carried) == {"penalty": 1_000}
    with pytest.raises(InvalidPlan):
        penalty_waiver(p, penalty=3_001)


def test_discounted_settlement_waives_penalty_fees_interest_then_principal() -> None:
    p = position(principal=120_000, annual_rate=ZERO, penalty=3_000, fee=1_000)
    assert p.total_owed == 104_000
    q = discounted_settlement(p, 90_000, date(2026, 5, 15))
    assert dict(q.waived) == {"penalty": 3_000, "fee": 1_000}
    assert q.written_off_principal == 10_000
    assert q.instalments == (ScheduledInstalment(13, date(2026, 5, 15), 90_000, 0),)
    assert q.total_cost == 90_000 and q.waived_total == 14_000


def test_promise_to_pay_changes_nothing() -> None:
    p = position(penalty=500)
    q = promise_to_pay(p, date(2026, 4, 20), 50_000)
    assert q.instalments == p.unpaid and q.promise_amount == 50_000
    assert q.plan_type is PlanType.PROMISE_TO_PAY
    assert current_terms(p).total_cost == q.total_cost


def test_an_unbalanced_quote_is_refused_with_every_discrepancy() -> None:
    p = position(penalty=100)
    q = rate_reduction(p, ZERO)
    bad = replace(q, instalments=q.instalments[1:], carried={})
    with pytest.raises(UnbalancedQuote, match="new principal") as refused:
        bad.check(p)
    assert "penalty" in str(refused.value) and "interest" in str(refused.value)


def test_equal_principal_and_bullet_quotes() -> None:
    for kind in (ScheduleType.EQUAL_PRINCIPAL, ScheduleType.BULLET):
        p = position(schedule_type=kind)
        q = term_extension(p, 2)
        assert q.new_principal == p.outstanding_principal
        if kind is ScheduleType.BULLET:
            assert [i.principal for i in q.instalments[:-1]] == [0] * (len(q.instalments) - 1)


def test_effective_annual_cost_of_the_current_12_percent_terms() -> None:
    # monthly 1 % compounds to about 12.68 % a year
    p = position(paid=0, as_of=date(2026, 1, 1), dpd=0)
    assert Decimal("0.125") < current_terms(p).effective_annual_cost < Decimal("0.128")
