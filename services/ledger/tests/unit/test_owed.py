"""What is owed and why: per instalment, per component, in plain words."""

from datetime import date

import pytest

from ledger.domain.allocation import AllocationLine
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidAllocation
from ledger.domain.owed import InstalmentPosition, instalment_positions, what_is_owed
from ledger.domain.replay import Charge
from ledger.domain.schedule import Instalment

PEN, FEE, INT, PRI = (
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
    LedgerComponent.INTEREST,
    LedgerComponent.PRINCIPAL,
)

INSTALMENTS = (
    Instalment(1, date(2026, 2, 15), principal=78_000, interest=17_012),
    Instalment(2, date(2026, 3, 15), principal=80_012, interest=15_000),
    Instalment(3, date(2026, 4, 15), principal=81_212, interest=13_800),
)
# Instalment 1 was paid in full; 200.00 of instalment 2's principal was paid.
PAID = (
    AllocationLine(1, INT, 17_012),
    AllocationLine(1, PRI, 78_000),
    AllocationLine(2, PRI, 20_000),
)
CHARGES = (
    Charge(2, PEN, 1_234, date(2026, 3, 20), "pen-1"),
    Charge(2, PEN, 999, date(2026, 3, 26), "pen-2"),  # booked after the as-of date below
)


def test_overdue_instalment_is_explained_component_by_component() -> None:
    as_of = date(2026, 3, 25)
    positions = instalment_positions(INSTALMENTS, CHARGES, PAID, as_of=as_of)
    owed = what_is_owed(positions, as_of, "CNY")

    (instalment,) = owed.instalments
    assert instalment.seq == 2
    assert instalment.days_overdue == 10
    # principal 80_012 - 20_000 = 60_012; interest 15_000; penalty 1_234 (pen-2 is later).
    assert dict(instalment.amounts) == {PRI: 60_012, INT: 15_000, PEN: 1_234}
    assert owed.reasons == (
        "Instalment 2 due 2026-03-15 (10 days overdue): "
        "principal 600.12, interest 150.00, penalty 12.34",
    )
    assert owed.total == 76_246
    assert owed.by_component[PRI] == 60_012
    assert owed.by_component[FEE] == 0
    # Instalment 3 is not due yet: shown apart, not in the total.
    assert owed.not_yet_due == 81_212 + 13_800
    assert owed.summary == "Total due as of 2026-03-25: 762.46 over 1 instalment(s)"


def test_instalment_due_today_is_owed() -> None:
    as_of = date(2026, 4, 15)
    owed = what_is_owed(instalment_positions(INSTALMENTS, CHARGES, PAID), as_of, "CNY")
    assert [(i.seq, i.days_overdue) for i in owed.instalments] == [(2, 31), (3, 0)]
    assert owed.reasons[1] == (
        "Instalment 3 due 2026-04-15 (due today): principal 812.12, interest 138.00"
    )
    assert owed.not_yet_due == 0


def test_nothing_owed_before_the_first_due_date() -> None:
    owed = what_is_owed(instalment_positions(INSTALMENTS), date(2026, 2, 14), "CNY")
    assert owed.instalments == ()
    assert owed.total == 0
    assert owed.summary == "Nothing is due as of 2026-02-14"


def test_one_day_overdue_reads_in_the_singular_and_yen_has_no_decimals() -> None:
    position = InstalmentPosition(1, date(2026, 2, 15), {PRI: 5_000, FEE: 300})
    owed = what_is_owed([position], date(2026, 2, 16), "JPY")
    assert owed.reasons == ("Instalment 1 due 2026-02-15 (1 day overdue): principal 5000, fee 300",)


def test_paid_beyond_charged_is_rejected() -> None:
    with pytest.raises(InvalidAllocation, match="paid beyond"):
        InstalmentPosition(1, date(2026, 2, 15), {PRI: 10}, {PRI: 11})
