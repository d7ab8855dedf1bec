"""Schedule, replay and journal together: account balances reconcile to the debt."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.component import LedgerComponent
from ledger.domain.journal import (
    Account,
    JournalEntry,
    balances,
    charge_booked_entry,
    credit_applied_entry,
    disbursement_entry,
    interest_due_entry,
    payment_entry,
    trial_balance_ok,
)
from ledger.domain.product import LoanProduct, ScheduleType
from ledger.domain.replay import Charge, Payment, replay_allocations
from ledger.domain.schedule import build_schedule

DISBURSED = date(2026, 1, 15)


@settings(max_examples=200)
@given(
    principal=st.integers(min_value=1_000, max_value=10**7),
    schedule_type=st.sampled_from(ScheduleType),
    term=st.integers(min_value=1, max_value=12),
    payments=st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 2_000_000), st.booleans()), max_size=6
    ),
    penalties=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 400), st.integers(1, 9_999))),
    as_of_day=st.integers(0, 400),
)
def test_account_balances_reconcile_with_the_replayed_position(
    principal: int,
    schedule_type: ScheduleType,
    term: int,
    payments: list[tuple[int, int, bool]],
    penalties: list[tuple[int, int, int]],
    as_of_day: int,
) -> None:
    product = LoanProduct(
        code="P",
        currency="CNY",
        annual_rate=Decimal("0.24"),
        term=term,
        schedule_type=schedule_type,
    )
    schedule = build_schedule(principal, product, DISBURSED)
    as_of = DISBURSED + timedelta(days=as_of_day)
    payment_list = [
        Payment(f"p{n}", DISBURSED + timedelta(days=day), amount, receipt_order=n, reversed=rev)
        for n, (day, amount, rev) in enumerate(payments)
        if day <= as_of_day
    ]
    charges = [
        Charge(min(seq, term), LedgerComponent.PENALTY, amount, DISBURSED + timedelta(days=day))
        for seq, day, amount in penalties
        if day <= as_of_day
    ]
    replay = replay_allocations(schedule.dues(), payment_list, charges)

    entries: list[JournalEntry] = [disbursement_entry(principal, "CNY")]
    due = [i for i in schedule.instalments if i.due_date <= as_of]
    entries += [interest_due_entry(i.interest, "CNY") for i in due if i.interest > 0]
    entries += [charge_booked_entry(c.component, c.amount, "CNY") for c in charges]
    entries += [payment_entry(a.result, "CNY") for a in replay.payments]
    entries += [
        credit_applied_entry(c.result.lines, "CNY")
        for c in replay.credit_applications
        if c.applied > 0
    ]

    assert trial_balance_ok(entries)
    ledger = balances(entries)
    outstanding = {i.seq: i for i in replay.outstanding}
    assert ledger[Account.LOAN_PRINCIPAL] == sum(
        i.owes(LedgerComponent.PRINCIPAL) for i in replay.outstanding
    )
    assert ledger[Account.PENALTY_RECEIVABLE] == sum(
        i.owes(LedgerComponent.PENALTY) for i in replay.outstanding
    )
    # Interest receivable: unpaid interest of due instalments, less interest received in
    # advance on instalments not yet due.
    prepaid = sum(
        i.interest - outstanding[i.seq].owes(LedgerComponent.INTEREST)
        for i in schedule.instalments
        if i.due_date > as_of
    )
    unpaid_due = sum(outstanding[i.seq].owes(LedgerComponent.INTEREST) for i in due)
    assert ledger[Account.INTEREST_RECEIVABLE] == unpaid_due - prepaid
    assert ledger[Account.BORROWER_CREDIT] == -replay.credit
    assert ledger[Account.CASH_CLEARING] == sum(p.amount for p in payment_list if not p.reversed)
