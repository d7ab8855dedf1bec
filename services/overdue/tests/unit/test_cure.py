"""Cure detection after a change in arrears."""

from datetime import date

import pytest

from overdue.domain.arrears import Arrears, OverdueBreakdown
from overdue.domain.cure import CureOutcome, decide_cure
from overdue.domain.policy import OverduePolicy

pytestmark = pytest.mark.unit

POLICY = OverduePolicy()
TODAY = date(2026, 4, 20)
TWO_INSTALMENTS = Arrears(
    date(2026, 3, 15), OverdueBreakdown(principal_minor=156_828, interest_minor=26_532)
)


def test_cured_when_no_instalment_is_past_due_and_carries_the_previous_bucket() -> None:
    """DPD 36 (31-60) before the payment, nothing past due after it."""
    decision = decide_cure(TWO_INSTALMENTS, Arrears(None), TODAY, POLICY)
    assert decision.outcome is CureOutcome.CURED
    assert (decision.previous_dpd, decision.current_dpd) == (36, 0)
    assert decision.previous_bucket.name == "31-60"
    assert decision.was_in_arrears
    assert decision.reduced_by_minor == 183_360


def test_partial_when_the_oldest_instalment_is_paid_but_a_newer_one_is_not() -> None:
    """Instalment 2 (due 2026-03-15) paid; instalment 3 (due 2026-04-15) still unpaid: DPD 5."""
    after = Arrears(
        date(2026, 4, 15), OverdueBreakdown(principal_minor=78_998, interest_minor=12_682)
    )
    decision = decide_cure(TWO_INSTALMENTS, after, TODAY, POLICY)
    assert decision.outcome is CureOutcome.PARTIAL
    assert (decision.previous_dpd, decision.current_dpd) == (36, 5)


def test_partial_when_less_is_owed_but_the_same_instalment_is_unpaid() -> None:
    after = Arrears(date(2026, 3, 15), OverdueBreakdown(principal_minor=100_000))
    assert decide_cure(TWO_INSTALMENTS, after, TODAY, POLICY).outcome is CureOutcome.PARTIAL


def test_no_cure_when_nothing_improved() -> None:
    assert decide_cure(TWO_INSTALMENTS, TWO_INSTALMENTS, TODAY, POLICY).outcome is CureOutcome.NONE


def test_no_cure_when_nothing_was_past_due() -> None:
    before = Arrears(date(2026, 4, 20), OverdueBreakdown(principal_minor=78_998))  # due today
    decision = decide_cure(before, Arrears(None), TODAY, POLICY)
    assert decision.outcome is CureOutcome.NONE
    assert decision.previous_bucket.name == "current"


def test_cure_within_arrears_grace_is_flagged_as_never_overdue() -> None:
    before = Arrears(date(2026, 4, 18), OverdueBreakdown(principal_minor=78_998))  # DPD 2
    decision = decide_cure(before, Arrears(None), TODAY, POLICY)
    assert decision.outcome is CureOutcome.CURED
    assert not decision.was_in_arrears
    assert decision.previous_bucket.name == "1-30"


def test_unpaid_penalty_alone_does_not_block_a_cure() -> None:
    after = Arrears(None, OverdueBreakdown(penalty_minor=1_206))
    assert decide_cure(TWO_INSTALMENTS, after, TODAY, POLICY).outcome is CureOutcome.CURED
