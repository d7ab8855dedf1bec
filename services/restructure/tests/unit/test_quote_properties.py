"""Every quote of every plan type conserves the balance to the minor unit (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lendkit.schedules import ScheduleType
from restructure.domain.plans import (
    DeferredInterest,
    Quote,
    discounted_settlement,
    payment_holiday,
    penalty_waiver,
    promise_to_pay,
    rate_reduction,
    re_amortisation,
    term_extension,
)
from restructure.domain.position import LoanPosition

from .positions import position

positions = st.builds(
    lambda principal, rate, term, paid, schedule_type, penalty, fee, days: position(
        principal=principal,
        annual_rate=rate,
        term=term,
        paid=min(paid, term - 1),
        schedule_type=schedule_type,
        penalty=penalty,
        fee=fee,
        as_of=date(2026, 1, 2) + timedelta(days=days),
    ),
    st.integers(100, 10**10),
    st.decimals(min_value=0, max_value=Decimal("0.36"), places=4),
    st.integers(1, 60),
    st.integers(0, 59),
    st.sampled_from(list(ScheduleType)),
    st.integers(0, 10**6),
    st.integers(0, 10**5),
    st.integers(0, 2000),
)


def _quotes(p: LoanPosition, n: int, frac: int) -> list[Quote]:
    quotes = [
        term_extension(p, n),
        term_extension(p, n, capitalise_arrears=True),
        rate_reduction(p, p.terms.annual_rate * frac / 100),
        penalty_waiver(p, p.penalty * frac // 100, p.fee * frac // 100),
        discounted_settlement(p, max(1, p.total_owed * frac // 100), p.as_of + timedelta(days=n)),
        promise_to_pay(p, p.as_of + timedelta(days=n), max(1, p.total_owed * frac // 100)),
    ]
    quotes += [payment_holiday(p, n, treatment) for treatment in DeferredInterest]
    if p.remaining:
        quotes.append(re_amortisation(p))
    return quotes


@settings(max_examples=150, deadline=None)
@given(positions, st.integers(1, 12), st.integers(0, 100))
def test_every_quote_conserves_the_outstanding_balance(p: LoanPosition, n: int, frac: int) -> None:
    # a tiny annuity can repay all its principal before the last instalments (rounding)
    assume(p.outstanding_principal > 0)
    for q in _quotes(p, n, frac):
        assert q.reconciliation_errors(p) == [], q.plan_type
        # the exact arithmetic spelled out once more, independently of the check
        capitalised = sum(q.capitalised.values())
        assert q.new_principal == p.outstanding_principal + capitalised - q.written_off_principal
        assert all(i.principal >= 0 and i.interest >= 0 for i in q.instalments)
        if q.rewrites_schedule:
            assert all(i.due_date >= p.as_of for i in q.instalments)
            assert all(i.seq > max(u.seq for u in p.unpaid) for i in q.instalments)
        deferred_paid = q.capitalised.get("deferred_interest", 0) + q.carried.get(
            "deferred_interest", 0
        )
        waived_owed = (
            q.waived_total - q.written_off_principal - q.waived.get("deferred_interest", 0)
        )
        new_interest = q.total_interest - (0 if q.rewrites_schedule else p.overdue_interest)
        assert (
            q.total_cost + q.written_off_principal + waived_owed
            == p.total_owed + new_interest + deferred_paid
        )
