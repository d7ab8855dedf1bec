"""Double-entry journal: every builder balances, balances follow the sign convention."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.allocation import AllocationLine, AllocationResult
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import UnbalancedEntry
from ledger.domain.journal import (
    Account,
    JournalEntry,
    JournalLine,
    balances,
    charge_booked_entry,
    charge_waived_entry,
    credit_applied_entry,
    credit_refunded_entry,
    disbursement_entry,
    interest_due_entry,
    payment_entry,
    payment_reversal_entry,
    trial_balance_ok,
)

PEN, FEE, INT, PRI = (
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
    LedgerComponent.INTEREST,
    LedgerComponent.PRINCIPAL,
)


def _lines(entry: JournalEntry) -> set[tuple[Account, int, int]]:
    return {(line.account, line.debit, line.credit) for line in entry.lines}


def test_disbursement_debits_loan_principal_and_credits_disbursement_clearing() -> None:
    entry = disbursement_entry(1_000_000, "CNY")
    assert _lines(entry) == {
        (Account.LOAN_PRINCIPAL, 1_000_000, 0),
        (Account.DISBURSEMENT_CLEARING, 0, 1_000_000),
    }


def test_interest_due_recognises_receivable_and_income() -> None:
    assert _lines(interest_due_entry(15_000, "CNY")) == {
        (Account.INTEREST_RECEIVABLE, 15_000, 0),
        (Account.INTEREST_INCOME, 0, 15_000),
    }


def test_penalty_booked_and_waived_mirror_each_other() -> None:
    booked = charge_booked_entry(PEN, 1_234, "CNY")
    waived = charge_waived_entry(PEN, 1_234, "CNY")
    assert _lines(booked) == {
        (Account.PENALTY_RECEIVABLE, 1_234, 0),
        (Account.PENALTY_INCOME, 0, 1_234),
    }
    assert _lines(waived) == {
        (Account.PENALTY_INCOME, 1_234, 0),
        (Account.PENALTY_RECEIVABLE, 0, 1_234),
    }
    assert balances([booked, waived]) == dict.fromkeys(Account, 0)


def test_fee_booked_uses_fee_accounts() -> None:
    assert _lines(charge_booked_entry(FEE, 500, "CNY")) == {
        (Account.FEE_RECEIVABLE, 500, 0),
        (Account.FEE_INCOME, 0, 500),
    }


def test_principal_cannot_be_booked_as_a_charge() -> None:
    with pytest.raises(UnbalancedEntry, match="cannot be booked"):
        charge_booked_entry(PRI, 1, "CNY")


def test_payment_credits_each_receivable_and_borrower_credit() -> None:
    result = AllocationResult(
        lines=(
            AllocationLine(1, PEN, 1_234),
            AllocationLine(1, INT, 15_000),
            AllocationLine(1, PRI, 76_680),
            AllocationLine(2, INT, 86),
        ),
        credit=1_000,
    )
    entry = payment_entry(result, "CNY")
    assert _lines(entry) == {
        (Account.CASH_CLEARING, 94_000, 0),
        (Account.PENALTY_RECEIVABLE, 0, 1_234),
        (Account.INTEREST_RECEIVABLE, 0, 15_086),
        (Account.LOAN_PRINCIPAL, 0, 76_680),
        (Account.BORROWER_CREDIT, 0, 1_000),
    }
    reversal = payment_reversal_entry(result, "CNY")
    assert balances([entry, reversal]) == dict.fromkeys(Account, 0)


def test_credit_applied_moves_borrower_credit_to_receivables() -> None:
    entry = credit_applied_entry([AllocationLine(2, FEE, 5_000)], "CNY")
    assert _lines(entry) == {
        (Account.BORROWER_CREDIT, 5_000, 0),
        (Account.FEE_RECEIVABLE, 0, 5_000),
    }
    assert _lines(credit_refunded_entry(4_976, "CNY")) == {
        (Account.BORROWER_CREDIT, 4_976, 0),
        (Account.CASH_CLEARING, 0, 4_976),
    }


def test_balances_are_debit_normal_after_a_first_instalment() -> None:
    # Disburse 10_000.00, instalment 1 falls due (interest 150.00), 916.80 paid.
    entries = [
        disbursement_entry(1_000_000, "CNY"),
        interest_due_entry(15_000, "CNY"),
        payment_entry(
            AllocationResult((AllocationLine(1, INT, 15_000), AllocationLine(1, PRI, 76_680))),
            "CNY",
        ),
    ]
    result = balances(entries)
    assert result[Account.LOAN_PRINCIPAL] == 923_320  # asset: positive
    assert result[Account.INTEREST_RECEIVABLE] == 0
    assert result[Account.CASH_CLEARING] == 91_680
    assert result[Account.INTEREST_INCOME] == -15_000  # income: negative
    assert result[Account.DISBURSEMENT_CLEARING] == -1_000_000  # liability: negative
    assert trial_balance_ok(entries)


def test_unbalanced_or_malformed_entries_are_rejected() -> None:
    with pytest.raises(UnbalancedEntry, match="debits 10 != credits 9"):
        JournalEntry(
            "CNY",
            (
                JournalLine(Account.CASH_CLEARING, debit=10),
                JournalLine(Account.FEE_INCOME, credit=9),
            ),
        )
    with pytest.raises(UnbalancedEntry, match="not be negative"):
        JournalLine(Account.CASH_CLEARING, debit=-1)
    with pytest.raises(UnbalancedEntry, match="exactly one"):
        JournalLine(Account.CASH_CLEARING, debit=1, credit=1)
    with pytest.raises(UnbalancedEntry, match="exactly one"):
        JournalLine(Account.CASH_CLEARING)
    with pytest.raises(UnbalancedEntry, match="at least two"):
        JournalEntry("CNY", ())
    with pytest.raises(UnbalancedEntry, match="positive"):
        disbursement_entry(0, "CNY")
    with pytest.raises(UnbalancedEntry, match="currency"):
        disbursement_entry(1, "XXX")


def test_balances_refuse_to_mix_currencies() -> None:
    with pytest.raises(UnbalancedEntry, match="across currencies"):
        balances([disbursement_entry(1, "CNY"), disbursement_entry(1, "USD")])


# --- properties ---------------------------------------------------------------

positive = st.integers(min_value=1, max_value=10**9)
allocation_lines = st.builds(
    AllocationLine,
    seq=st.integers(1, 12),
    component=st.sampled_from(LedgerComponent),
    amount=positive,
)
allocation_results = st.builds(
    AllocationResult,
    lines=st.lists(allocation_lines, max_size=6).map(tuple),
    credit=st.integers(0, 10**6),
).filter(lambda r: r.amount > 0)
charge_components = st.sampled_from([PEN, FEE, INT])

any_entry = st.one_of(
    positive.map(lambda a: disbursement_entry(a, "CNY")),
    positive.map(lambda a: interest_due_entry(a, "CNY")),
    st.tuples(charge_components, positive).map(lambda t: charge_booked_entry(*t, "CNY")),
    st.tuples(charge_components, positive).map(lambda t: charge_waived_entry(*t, "CNY")),
    allocation_results.map(lambda r: payment_entry(r, "CNY")),
    allocation_results.map(lambda r: payment_reversal_entry(r, "CNY")),
    st.lists(allocation_lines, min_size=1, max_size=4).map(
        lambda lines: credit_applied_entry(lines, "CNY")
    ),
    positive.map(lambda a: credit_refunded_entry(a, "CNY")),
)


@settings(max_examples=300)
@given(entries=st.lists(any_entry, max_size=30))
def test_any_sequence_of_entries_keeps_the_trial_balance(entries: list[JournalEntry]) -> None:
    assert all(e.total_debit == e.total_credit for e in entries)
    assert trial_balance_ok(entries)
    assert sum(balances(entries).values()) == 0


@given(result=allocation_results)
def test_payment_entry_takes_in_exactly_the_payment(result: AllocationResult) -> None:
    entry = payment_entry(result, "CNY")
    cash = balances([entry])[Account.CASH_CLEARING]
    assert cash == result.amount == result.allocated + result.credit
