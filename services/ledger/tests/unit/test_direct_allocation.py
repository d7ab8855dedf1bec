"""A payment dated on or after every other live payment and every charge is allocated
directly against the stored position (``settle_latest``): the outcome must be the one a
full replay of the loan gives."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import (
    AllocationOrder,
    AllocationStrategy,
    Charge,
    InstalmentDue,
    LedgerComponent,
    Payment,
    allocate_payment,
    replay_allocations,
)
from ledger.domain.resettlement import allocate_latest, allocates_directly

START = date(2026, 1, 15)


def stored(position: tuple[InstalmentDue, ...]) -> tuple[InstalmentDue, ...]:
    """A position as the instalment rows hold it: every component, zeros included."""
    return tuple(
        InstalmentDue(i.seq, i.due_date, {c: i.owes(c) for c in LedgerComponent}) for i in position
    )


@st.composite
def loans(
    draw: st.DrawFn,
) -> tuple[list[InstalmentDue], list[Payment], list[Charge], AllocationOrder, Payment]:
    n = draw(st.integers(1, 6))
    schedule = [
        InstalmentDue(
            seq,
            START + timedelta(days=30 * seq),
            {
                LedgerComponent.PRINCIPAL: draw(st.integers(0, 100_000)),
                LedgerComponent.INTEREST: draw(st.integers(0, 5_000)),
            },
        )
        for seq in range(1, n + 1)
    ]
    days = st.integers(0, 240)
    history = [
        Payment(
            f"p{k}",
            START + timedelta(days=draw(days)),
            draw(st.integers(1, 150_000)),
            receipt_order=k,
            reversed=draw(st.booleans()),
        )
        for k in range(draw(st.integers(0, 8)))
    ]
    charges = [
        Charge(
            draw(st.integers(1, n)),
            draw(
                st.sampled_from(
                    [LedgerComponent.PENALTY, LedgerComponent.FEE, LedgerComponent.INTEREST]
                )
            ),
            draw(st.integers(1, 5_000)),
            START + timedelta(days=draw(days)),
            f"c{k}",
        )
        for k in range(draw(st.integers(0, 5)))
    ]
    order = AllocationOrder(
        draw(st.sampled_from(list(AllocationStrategy))),
        tuple(draw(st.permutations(list(LedgerComponent)))),
    )
    latest = max(
        [p.value_date for p in history if not p.reversed] + [c.booked_on for c in charges],
        default=START,
    )
    new = Payment(
        "new",
        latest + timedelta(days=draw(st.integers(0, 60))),  # 0: ties with the latest
        draw(st.integers(1, 400_000)),
        receipt_order=len(history),  # received last
    )
    return schedule, history, charges, order, new


@settings(max_examples=400, deadline=None)
@given(loans())
def test_direct_allocation_equals_full_replay(
    loan: tuple[list[InstalmentDue], list[Payment], list[Charge], AllocationOrder, Payment],
) -> None:
    schedule, history, charges, order, new = loan
    latest_payment = max((p.value_date for p in history if not p.reversed), default=None)
    latest_charge = max((c.booked_on for c in charges), default=None)
    assert allocates_directly(new.value_date, latest_payment, latest_charge)

    before = replay_allocations(schedule, history, charges, order)  # what is stored
    replayed = replay_allocations(schedule, [*history, new], charges, order)
    result, position = allocate_latest(
        stored(before.outstanding), new.amount, new.value_date, order
    )

    assert replayed.for_payment("new") == result
    assert replayed.payments[:-1] == before.payments  # no other allocation changes
    assert replayed.credit_applications == before.credit_applications
    assert stored(replayed.outstanding) == position
    assert replayed.credit == before.credit + result.credit


def test_a_back_dated_payment_is_not_allocated_directly() -> None:
    assert not allocates_directly(date(2026, 2, 9), date(2026, 2, 10), None)
    assert not allocates_directly(date(2026, 2, 9), None, date(2026, 2, 10))
    assert allocates_directly(date(2026, 2, 10), date(2026, 2, 10), date(2026, 2, 10))
    assert allocates_directly(date(2026, 2, 10), None, None)


def test_direct_allocation_of_a_back_dated_payment_would_be_wrong() -> None:
    """Why the replay stays for back-dated payments: A (12 Mar) paid instalment 2's
    interest; B (10 Feb) only pays instalment 1 in a replay, never instalment 2's."""
    schedule = [
        InstalmentDue(
            1,
            date(2026, 2, 10),
            {LedgerComponent.INTEREST: 3_000, LedgerComponent.PRINCIPAL: 100_000},
        ),
        InstalmentDue(
            2,
            date(2026, 3, 10),
            {LedgerComponent.INTEREST: 2_000, LedgerComponent.PRINCIPAL: 100_000},
        ),
    ]
    a = Payment("A", date(2026, 3, 12), 105_000, receipt_order=1)
    b = Payment("B", date(2026, 2, 10), 103_000, receipt_order=2)
    before = replay_allocations(schedule, [a])
    direct = allocate_payment(b.amount, stored(before.outstanding), None, b.value_date)
    replayed = replay_allocations(schedule, [a, b])
    assert direct != replayed.for_payment("B")
    assert replayed.for_payment("A") != before.for_payment("A")
