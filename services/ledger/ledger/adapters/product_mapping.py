"""LoanProduct <-> products row."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping

from ledger.domain import (
    AllocationOrder,
    AllocationStrategy,
    DayCount,
    Frequency,
    LedgerComponent,
    LoanProduct,
    Rounding,
    ScheduleType,
)


def product_row(product: LoanProduct) -> dict[str, Any]:
    return {
        "code": product.code,
        "currency": product.currency,
        "annual_rate": str(product.annual_rate),
        "term": product.term,
        "frequency": product.frequency.value,
        "schedule_type": product.schedule_type.value,
        "day_count": product.day_count.value,
        "rounding": product.rounding.value,
        "allocation_strategy": product.allocation_order.strategy.value,
        "allocation_components": [c.value for c in product.allocation_order.components],
        "reminder_days_before": list(product.reminder_days_before),
        "overdue_policy": dict(product.overdue_policy),
        "notification_policy": dict(product.notification_policy),
        "restructure_policy": dict(product.restructure_policy),
    }


def product_from_row(row: Mapping[str, Any] | RowMapping) -> LoanProduct:
    return LoanProduct(
        code=row["code"],
        currency=row["currency"],
        annual_rate=Decimal(row["annual_rate"]),
        term=row["term"],
        frequency=Frequency(row["frequency"]),
        schedule_type=ScheduleType(row["schedule_type"]),
        day_count=DayCount(row["day_count"]),
        rounding=Rounding(row["rounding"]),
        allocation_order=AllocationOrder(
            AllocationStrategy(row["allocation_strategy"]),
            tuple(LedgerComponent(c) for c in row["allocation_components"]),
        ),
        reminder_days_before=tuple(row["reminder_days_before"]),
        overdue_policy=row["overdue_policy"],
        notification_policy=row["notification_policy"],
        restructure_policy=row["restructure_policy"],
    )
