"""Loan products: validated, immutable terms."""

from decimal import Decimal

import pytest

from ledger.domain.allocation import AllocationOrder, AllocationStrategy
from ledger.domain.errors import InvalidProduct
from ledger.domain.money import Rounding
from ledger.domain.periods import DayCount, Frequency
from ledger.domain.product import LoanProduct, ScheduleType


def _product(**overrides: object) -> LoanProduct:
    terms: dict[str, object] = {
        "code": "CASH-12",
        "currency": "CNY",
        "annual_rate": Decimal("0.18"),
        "term": 12,
    }
    terms.update(overrides)
    return LoanProduct(**terms)  # type: ignore[arg-type]


def test_product_defaults_are_the_briefs_defaults() -> None:
    product = _product()
    assert product.frequency is Frequency.MONTHLY
    assert product.schedule_type is ScheduleType.ANNUITY
    assert product.day_count is DayCount.ACT_365
    assert product.rounding is Rounding.HALF_EVEN
    assert product.allocation_order.strategy is AllocationStrategy.OLDEST_FIRST_VERTICAL
    assert product.reminder_days_before == (3, 1)
    assert dict(product.overdue_policy) == {}


def test_monthly_period_rate_is_annual_rate_over_twelve() -> None:
    assert _product().period_rate == Decimal("0.015")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"annual_rate": 0.18}, "finite Decimal"),
        ({"annual_rate": Decimal("-0.01")}, "between 0 and 1"),
        ({"annual_rate": Decimal("1.5")}, "between 0 and 1"),
        ({"annual_rate": Decimal("NaN")}, "finite Decimal"),
        ({"term": 0}, "between 1 and 600"),
        ({"term": True}, "integer number of instalments"),
        ({"currency": "XXX"}, "ISO 4217"),
        ({"code": " "}, "non-empty"),
        ({"frequency": "MONTHLY_ISH"}, "frequency must be a Frequency"),
        ({"reminder_days_before": (3, 3)}, "duplicates"),
        ({"reminder_days_before": (-1,)}, "day counts from 0 to 60"),
        ({"reminder_days_before": (61,)}, "day counts from 0 to 60"),
        ({"reminder_days_before": tuple(range(11))}, "more than 10 reminders"),
        ({"allocation_order": "vertical"}, "AllocationOrder"),
    ],
)
def test_invalid_product_terms_are_rejected_with_a_clear_message(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidProduct, match=message):
        _product(**overrides)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidProduct) as caught:
        _product(term=0, currency="XXX")
    assert "term 0" in str(caught.value)
    assert "'XXX'" in str(caught.value)


def test_reminder_days_are_kept_furthest_first() -> None:
    assert _product(reminder_days_before=(1, 7, 3)).reminder_days_before == (7, 3, 1)


def test_policies_are_copied_and_read_only() -> None:
    policy: dict[str, object] = {"grace_days": 3}
    product = _product(overdue_policy=policy)
    policy["grace_days"] = 10
    assert product.overdue_policy["grace_days"] == 3
    with pytest.raises(TypeError):
        product.overdue_policy["grace_days"] = 5  # type: ignore[index]


def test_product_is_hashable_and_compares_by_value() -> None:
    one = _product(notification_policy={"channels": ["push"]})
    two = _product(notification_policy={"channels": ["push"]})
    assert one == two
    assert hash(one) == hash(two)
    assert one != _product(allocation_order=AllocationOrder(AllocationStrategy.HORIZONTAL))
