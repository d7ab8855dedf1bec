"""A plan's exact schedule is booked only when it conserves the outstanding principal."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import InvalidSchedule
from ledger.domain.restructure import checked_exact_schedule
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
