"""Close of business for one loan: which domain facts become which events (no I/O).

Worked-example loan: instalment 2 (principal 77_830, interest 13_850) due 2026-03-15
unpaid, arrears grace 3, 0.05 % a day; three days already accrued (117 assessed)."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendkit.contracts import overdue as contract
from overdue.adapters.records import TrackedLoan
from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate
from overdue.domain.escalation import Stage
from overdue.domain.penalty import PenaltyState
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.loan_day import DayRules, LoanDayInput, review_loan_day

POLICY = OverduePolicy(arrears_grace_days=3, penalty_daily_rate=Decimal("0.0005"))


def day_input(**changes: object) -> LoanDayInput:
    loan = TrackedLoan(
        loan_id="L1",
        borrower_id="B1",
        product_code="P",
        currency="CNY",
        principal_minor=1_000_000,
        disbursed_on=date(2026, 1, 15),
        oldest_unpaid_due_date=date(2026, 3, 15),
        bucket="1-30",
        stage="reminder",
        in_arrears=False,
        charge_off_candidate=False,
        paused=False,
        pause_reason=None,
        penalty=PenaltyState(date(2026, 3, 18), Decimal("116.745"), 117, 0),
        fees_charged_minor=0,
        gate=CreditReportGate(),
    )
    return LoanDayInput(
        loan=loan,
        overdue=OverdueBreakdown(principal_minor=77_830, interest_minor=13_850),
        oldest_unpaid_seq=2,
        interest_charged_minor=28_850,
        **changes,  # type: ignore[arg-type]
    )


def test_dpd_4_makes_the_loan_overdue_escalates_to_early_and_books_39() -> None:
    outcome = review_loan_day(day_input(), date(2026, 3, 19), POLICY)
    kinds = [type(e) for e in outcome.events]
    assert kinds == [contract.LoanBecameOverdue, contract.StageChanged, contract.PenaltyAssessed]
    penalty = outcome.events[-1]
    assert isinstance(penalty, contract.PenaltyAssessed)
    assert (penalty.seq, penalty.base_minor, penalty.amount_minor) == (2, 77_830, 39)
    assert outcome.penalty.assessed_to_date_minor == 156
    assert (outcome.dpd, outcome.bucket, outcome.in_arrears) == (4, "1-30", True)
    assert outcome.bucket_change is None
    assert outcome.stage_change == ("reminder", "early")


def test_a_day_already_accrued_books_nothing_again() -> None:
    outcome = review_loan_day(day_input(), date(2026, 3, 18), POLICY)
    assert not any(isinstance(e, contract.PenaltyAssessed) for e in outcome.events)
    assert outcome.penalty_day is None
    assert outcome.penalty.assessed_to_date_minor == 117


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(min_value=-40, max_value=200)),
            st.sampled_from(["current", "1-30", "31-60", "61-90", "renamed"]),
            st.sampled_from([s.value for s in Stage]),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_shared_day_rules_give_each_loan_the_same_outcome(
    loans: list[tuple[int | None, str, str, bool]], day_offset: int
) -> None:
    """``DayRules`` remembers the policy's per-date answers across loans (close of
    business shares one per product): every outcome equals the one computed afresh."""
    on = date(2026, 3, 19) + timedelta(days=day_offset)
    rules = DayRules(on, POLICY)
    for offset, bucket, stage, in_arrears in loans:
        base = day_input()
        loan = replace(
            base.loan,
            oldest_unpaid_due_date=None if offset is None else on - timedelta(days=offset),
            bucket=bucket,
            stage=stage,
            in_arrears=in_arrears,
        )
        day = replace(base, loan=loan)
        assert review_loan_day(day, on, POLICY, rules) == review_loan_day(day, on, POLICY)
