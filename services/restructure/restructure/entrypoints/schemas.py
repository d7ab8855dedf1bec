"""Request and response models of the restructure service's REST API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lendkit.contracts.money import Currency, PositiveMinor, Rate
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType


class In(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Out(BaseModel):
    """A documented response. Unknown fields are refused, so documentation cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LoanQuoteRequest(In):
    currency: Currency
    principal_minor: PositiveMinor
    annual_rate: Rate = Field(description="contract annual rate, e.g. 0.12")
    term: Annotated[int, Field(ge=1, le=600)]
    schedule_type: ScheduleType = ScheduleType.ANNUITY
    frequency: Frequency = Frequency.MONTHLY
    day_count: DayCount = DayCount.ACT_365
    rounding: Rounding = Rounding.HALF_EVEN
    disbursed_on: date
    first_due_date: date | None = None
    penalty_daily_rate: Rate = "0.0005"
    penalty_grace_days: Annotated[int, Field(ge=0, le=90)] = 3
    annual_cost_cap: Rate = "0.24"
    locale: Literal["en", "zh-CN"] = "en"


class InstalmentOut(Out):
    seq: int
    due_date: date
    principal_minor: int
    interest_minor: int
    total_minor: int


class LoanQuoteOut(Out):
    currency: str
    principal_minor: int
    instalments: list[InstalmentOut]
    total_interest_minor: int
    total_payment_minor: int
    effective_annual_cost: str = Field(description="effective annual rate, 4 decimals")
    penalty_terms: str
