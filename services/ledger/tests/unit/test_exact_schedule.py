"""A plan's exact schedule is booked only when it conserves the outstanding principal."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import Account, LedgerComponent, balances
from ledger.domain.errors import InvalidSchedule
from ledger.domain.restructure import PlanDisposition, checked_exact_schedule, plan_adjustments
from ledger.domain.schedule import Instalment

NEW = [
    Instalment(4, date(2026, 4, 10), 100_000, 2_000),
    Instalment(5, date(2026, 5, 10), 100_000, 1_000),
]


def test_a_conserving_schedule_is_booked_as_given() -> None:
    booked = checked_exact_schedule(
        "p", quoted_outstanding=200_000, outstanding_principal=200_000, start_seq=4, instalments=NEW
    )
    assert booked == tuple(NEW)


def test_every_discrepancy_is_named() -> None:
    with pytest.raises(InvalidSchedule) as refused:
        checked_exact_schedule(
            "p",
            quoted_outstanding=200_001,
            outstanding_principal=200_001,
            start_seq=3,
            instalments=NEW,
        )
    message = str(refused.value)
    assert "principal 200000 is not 200001" in message
    assert "numbered from 3" in message
    with pytest.raises(InvalidSchedule, match="quoted on an outstanding principal of 199999"):
        checked_exact_schedule(
            "p",
            quoted_outstanding=199_999,
            outstanding_principal=200_000,
            start_seq=4,
            instalments=NEW,
        )


def test_capitalised_amounts_and_written_off_principal_count_in_the_conservation() -> None:
    # 200,000 outstanding + 1,500 capitalised - 1,500 written off = 200,000 scheduled.
    assert checked_exact_schedule(
        "plan-1",
        quoted_outstanding=200_000,
        outstanding_principal=200_000,
        start_seq=4,
        instalments=NEW,
        capitalised=1_500,
        written_off_principal=1_500,
    ) == tuple(NEW)
    with pytest.raises(InvalidSchedule, match=r"is not 201500 \(200000 \+ 1500 capitalised\)"):
        checked_exact_schedule(
            "plan-1",
            quoted_outstanding=200_000,
            outstanding_principal=200_000,
            start_seq=4,
            instalments=NEW,
            capitalised=1_500,
        )


def test_a_capitalised_penalty_becomes_principal_and_a_waived_one_leaves_the_books() -> None:
    # 900 penalty and 2,000 interest moved to the first new instalment: the plan capitalises
    # 600 of the penalty, waives 300 and carries the interest; deferred interest of 1,200
    # is capitalised (income earned, owed as principal).
    booked = plan_adjustments(
        "plan-1",
        PlanDisposition(
            capitalised={"penalty": 600, "deferred_interest": 1_200},
            waived={"penalty": 300},
        ),
        {LedgerComponent.PENALTY: 900, LedgerComponent.INTEREST: 2_000},
        "CNY",
    )
    assert [(r.component, r.amount, r.kind) for r in booked.rows] == [
        (LedgerComponent.PENALTY, -600, "capitalised"),
        (LedgerComponent.PENALTY, -300, "waived"),
    ]
    assert dict(booked.carried) == {"interest": 2_000}
    books = balances([*(r.entry for r in booked.rows), *booked.entries])
    assert books[Account.LOAN_PRINCIPAL] == 600 + 1_200
    assert books[Account.PENALTY_RECEIVABLE] == -900
    assert books[Account.PENALTY_INCOME] == 300  # the waiver reverses income
    assert books[Account.INTEREST_INCOME] == -1_200
    with pytest.raises(InvalidSchedule, match="penalty: the plan capitalises 600 and waives 400"):
        plan_adjustments(
            "plan-1",
            PlanDisposition(capitalised={"penalty": 600}, waived={"penalty": 400}),
            {LedgerComponent.PENALTY: 900},
            "CNY",
        )


def test_a_written_off_principal_is_an_expense() -> None:
    (entry,) = plan_adjustments(
        "plan-1", PlanDisposition(written_off_principal=50_000), {}, "CNY"
    ).entries
    books = balances([entry])
    assert books[Account.PRINCIPAL_WRITTEN_OFF] == 50_000
    assert books[Account.LOAN_PRINCIPAL] == -50_000
