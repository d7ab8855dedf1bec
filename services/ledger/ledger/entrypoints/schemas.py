"""Request bodies of the ledger's REST API (responses are documented by example in the tests)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.domain import (
    AllocationOrder,
    AllocationStrategy,
    Component,
    DayCount,
    Frequency,
    LoanProduct,
    Rounding,
    ScheduleType,
)

Id = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductIn(Body):
    code: str = Id
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    annual_rate: Decimal = Field(ge=0, le=1)
    term: int = Field(ge=1, le=600)
    frequency: Frequency = Frequency.MONTHLY
    schedule_type: ScheduleType = ScheduleType.ANNUITY
    day_count: DayCount = DayCount.ACT_365
    rounding: Rounding = Rounding.HALF_EVEN
    allocation_strategy: AllocationStrategy = AllocationStrategy.OLDEST_FIRST_VERTICAL
    allocation_components: list[Component] = Field(
        default_factory=lambda: list(AllocationOrder().components)
    )
    reminder_days_before: list[int] = Field(default_factory=lambda: [3, 1])
    overdue_policy: dict[str, Any] = Field(default_factory=dict)
    notification_policy: dict[str, Any] = Field(default_factory=dict)
    restructure_policy: dict[str, Any] = Field(default_factory=dict)

    def to_domain(self) -> LoanProduct:
        return LoanProduct(
            code=self.code,
            currency=self.currency,
            annual_rate=self.annual_rate,
            term=self.term,
            frequency=self.frequency,
            schedule_type=self.schedule_type,
            day_count=self.day_count,
            rounding=self.rounding,
            allocation_order=AllocationOrder(
                self.allocation_strategy, tuple(self.allocation_components)
            ),
            reminder_days_before=tuple(self.reminder_days_before),
            overdue_policy=self.overdue_policy,
            notification_policy=self.notification_policy,
            restructure_policy=self.restructure_policy,
        )


class LoanIn(Body):
    loan_id: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    borrower_id: str = Id
    product_code: str = Id
    principal_minor: int = Field(gt=0, le=10**15)
    disbursed_on: date
    first_due_date: date | None = None
    timezone: str = Field(default="Asia/Shanghai", min_length=1, max_length=64)


class PaymentIn(Body):
    external_reference: str = Field(min_length=1, max_length=200)
    amount_minor: int = Field(gt=0, le=10**15)
    value_date: date


class ReversalIn(Body):
    reason: str = Field(min_length=1, max_length=500)
    business_date: date | None = None


class CloseOfBusinessIn(Body):
    business_date: date
