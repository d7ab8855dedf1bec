"""Request and response models of the restructure service's REST API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lendkit.contracts.money import Currency, NonNegativeMinor, PositiveMinor, Rate
from lendkit.openapi import BusinessDate, FreeText
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


# Hardship requests, quotes, offers and plans ------------------------------------------

Locale = Literal["en", "zh-CN"]
PlanTypeName = Literal[
    "payment_holiday",
    "term_extension",
    "re_amortisation",
    "rate_reduction",
    "penalty_waiver",
    "discounted_settlement",
    "promise_to_pay",
]


class HardshipRequestIn(In):
    reason: Annotated[FreeText, Field(min_length=1, max_length=500)] = Field(
        description="the borrower's hardship reason, in their words"
    )


class AmountOut(Out):
    kind: str
    amount_minor: int


class PlanInstalmentOut(Out):
    seq: int
    due_date: date
    principal_minor: int
    interest_minor: int
    total_minor: int


class QuoteOut(Out):
    plan_type: str
    name: str = Field(description="the plan type in the requested language")
    currency: str
    as_of: date
    annual_rate: str
    instalments: list[PlanInstalmentOut] = Field(description="the exact new schedule")
    first_instalment_total_minor: int = Field(description="with what is carried onto it")
    total_cost_minor: int = Field(description="everything paid on the plan if paid on time")
    total_interest_minor: int
    effective_annual_cost: str = Field(description="effective annual rate, 4 decimals")
    capitalised: list[AmountOut]
    carried_to_first: list[AmountOut]
    waived: list[AmountOut]
    written_off_principal_minor: int
    settlement_deadline: date | None = None
    promise_date: date | None = None
    promise_amount_minor: int = 0
    rewrites_schedule: bool


class ReasonOut(Out):
    code: str
    text: str


class OptionOut(Out):
    quote_id: str
    plan_type: str
    name: str
    eligible: bool
    reasons: list[ReasonOut] = Field(description="every reason, when not eligible")
    quote: QuoteOut | None = None
    offer_id: str | None = Field(default=None, description="accept or decline this offer")
    offer_status: str | None = None


class HardshipOut(Out):
    request_id: str
    loan_id: str
    status: str
    reason: str
    requested_on: date
    expires_on: date | None = Field(description="the offers' last day")
    locale: Locale
    current_terms: QuoteOut | None = Field(description="the loan as it stands, to compare")
    options: list[OptionOut]


class RequestOut(Out):
    request_id: str
    loan_id: str
    status: str
    reason: str
    requested_on: date


class OfferIn(In):
    plan_type: PlanTypeName
    periods: Annotated[int, Field(ge=1, le=120)] | None = Field(
        default=None, description="holiday or extension periods (policy maximum if unset)"
    )
    new_annual_rate: Rate | None = Field(default=None, description="rate reduction, e.g. 0")
    waive_penalty_minor: NonNegativeMinor | None = None
    waive_fee_minor: NonNegativeMinor | None = None
    amount_minor: PositiveMinor | None = Field(
        default=None, description="settlement or promise amount"
    )
    on: BusinessDate | None = Field(default=None, description="settlement deadline, promise date")
    expires_in_days: Annotated[int, Field(ge=1, le=90)] | None = None


class OfferOut(Out):
    offer_id: str
    loan_id: str
    request_id: str | None
    plan_type: str
    status: str
    made_by: str
    needs_approval: bool
    approved_by: str | None
    expires_on: date
    forgiven_minor: int
    quote: QuoteOut


class PlanOut(Out):
    plan_id: str
    loan_id: str
    offer_id: str
    plan_type: str
    status: str
    accepted_on: date
    activated_on: date | None
    closed_on: date | None
    broken_seq: int | None
    instalments: list[PlanInstalmentOut]


class AcceptOut(Out):
    offer_id: str
    status: str
    plan: PlanOut | None = None
    promise_id: str | None = None


class PromiseIn(In):
    promised_on: BusinessDate
    amount_minor: PositiveMinor


class PromiseOut(Out):
    promise_id: str
    loan_id: str
    source: str
    made_on: date
    promised_on: date
    amount_minor: int
    status: str
    matched_minor: int


class PromiseMadeOut(Out):
    promise_id: str
    loan_id: str


class ForbearanceOut(Out):
    status: str = Field(description="cure, probation or exited")
    forborne_on: date
    cure_ends_on: date | None
    probation_starts_on: date | None
    probation_ends_on: date | None


class LoanRestructuringOut(Out):
    loan_id: str
    business_date: date = Field(description="today on the service's business clock")
    days_past_due: int
    plan: PlanOut | None
    forbearance: ForbearanceOut | None
    promises: list[PromiseOut]


class RateOut(Out):
    product_code: str
    plan_type: str
    offers_made: int
    offers_accepted: int
    plans_activated: int
    plans_completed: int
    plans_broken: int
    promises_resolved: int
    promises_kept: int
    uptake: str | None = Field(description="accepted / offered (null: none offered)")
    completion: str | None = Field(description="completed / activated")
    break_rate: str | None = Field(description="broken / activated")
    promise_kept: str | None = Field(description="kept / resolved")


class AuditOut(Out):
    id: int
    subject_kind: str
    subject_id: str
    loan_id: str
    step: str
    actor: str
    at: datetime
    detail: dict[str, Any]
