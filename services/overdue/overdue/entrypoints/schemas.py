"""Documented response shapes of the overdue service's REST API.

The routes build their bodies with them (or document what they return): a test
validates real responses against them.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from lendkit.contracts.money import PositiveMinor
from lendkit.contracts.policies import BucketName, OverduePolicySpec
from lendkit.openapi import FreeText
from overdue.domain.escalation import Stage
from overdue.domain.penalty import CapApplied
from overdue.domain.policy import PenaltyBase


class Out(BaseModel):
    """A documented response. Unknown fields are refused, so documentation cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OverdueAmounts(Out):
    principal_minor: int
    interest_minor: int
    penalty_minor: int
    fee_minor: int
    total_minor: int


class GraceWindowOut(Out):
    days: int
    ends_on: date | None = Field(description="last day of grace; null when nothing is unpaid")


class PenaltyDayOut(Out):
    business_date: date
    days_past_due: int
    base_minor: int
    rate: str = Field(description="daily rate, decimal string")
    exact: str = Field(description="exact (unrounded) penalty of the day, decimal string")
    booked_minor: int
    forgone_minor: int
    cap_applied: CapApplied | None


class Texts(Out):
    zh_cn: str = Field(alias="zh-CN")
    en: str


class ExplanationOut(Out):
    loan_id: str
    as_of: date
    currency: str
    oldest_unpaid_due_date: date | None
    days_past_due: int
    bucket: BucketName
    stage: Stage
    in_arrears: bool
    overdue: OverdueAmounts
    arrears_grace: GraceWindowOut
    penalty_grace: GraceWindowOut
    overdue_from: date | None
    penalty_from: date | None
    penalty_base: PenaltyBase
    penalty_daily_rate: str
    penalty_days: list[PenaltyDayOut]
    penalty_booked_minor: int
    penalty_waived_minor: int
    penalty_owed_minor: int
    cap_applied: CapApplied | None
    capped_since: date | None
    locale: str
    text: str = Field(description="the borrower-facing text in the requested locale")
    texts: Texts
    provisional: bool = Field(
        description="as_of is not a closed business day: today's balances seen from that "
        "date, subject to change. A closed day is answered from what its close of business "
        "recorded."
    )


class OverdueLoan(Out):
    loan_id: str
    product_code: str
    currency: str
    oldest_unpaid_due_date: date
    days_past_due: int
    bucket: BucketName
    stage: Stage
    in_arrears: bool
    paused: bool
    overdue_minor: int


class OverdueLoanPage(Out):
    as_of: date
    items: list[OverdueLoan]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class BlockedLoanOut(Out):
    loan_id: str
    product_code: str
    reason: str = Field(description="why the product has no usable overdue policy")


class BlockedLoanPage(Out):
    """Loans close of business could not review on ``as_of``: no penalty and no DPD-driven
    event for that day; reviewed from the first close of business after the policy arrives."""

    as_of: date
    loans_blocked: int = Field(description="all loans blocked on as_of, across pages")
    items: list[BlockedLoanOut]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class BucketFigures(Out):
    bucket: BucketName
    currency: str
    loans: int
    past_due_minor: int
    outstanding_principal_minor: int


class PortfolioSummary(Out):
    as_of: date
    buckets: list[BucketFigures]


class RollRates(Out):
    from_: date = Field(alias="from")
    to: date
    buckets: list[str]
    counts: dict[str, dict[str, int]] = Field(description="loans from bucket (row) to bucket")
    rates: dict[str, dict[str, str | None]] = Field(description="decimal strings; null if none")
    left_book: int
    joined_book: int


class CureRate(Out):
    from_: date = Field(alias="from")
    to: date
    cure_rate: str | None


class PauseOut(Out):
    loan_id: str
    paused: bool
    changed: bool


class WaiverPartOut(Out):
    waiver_id: str
    seq: int
    amount_minor: int


class WaiverOut(Out):
    """A waiver spread over instalments oldest first (``parts``); ``waiver_id`` and
    ``seq`` are its first part's."""

    waiver_id: str
    loan_id: str
    seq: int
    amount_minor: int
    penalty_owed_minor: int
    business_date: date
    parts: list[WaiverPartOut]


# Requests --------------------------------------------------------------------------------


class PauseRequest(BaseModel):
    reason: FreeText = Field(min_length=1, max_length=500)


class WaiverRequest(BaseModel):
    amount_minor: PositiveMinor
    reason: FreeText = Field(min_length=1, max_length=500)
    business_date: date | None = None


class OpenDayOut(Out):
    business_date: date = Field(description="the first day not closed here yet")
    markers_received: int = Field(
        description="close-of-business markers received (one per partition)"
    )
    partitions: int = Field(description="markers needed: the partitions of ledger.loans")
    review_started: bool = Field(description="the day's review of loans has begun")


class BusinessClockOut(Out):
    """How far the overdue service has closed the ledger's business days: a day is closed
    here once the ledger's marker arrived on every partition and every loan was reviewed.
    The ledger's own clock (today, simulated or not) is the ledger's ``GET /business-clock``."""

    first_closed_day: date | None = Field(description="the first business day closed here")
    last_closed_day: date | None = Field(
        description="the latest business day closed here: the default `as_of` of the "
        "listings and portfolio figures"
    )
    last_closed_at: datetime | None = Field(description="when that close finished")
    closing: OpenDayOut | None = Field(
        description="the day being closed, while its markers arrive or its review runs"
    )


class StageStart(Out):
    stage: Stage
    from_dpd: int = Field(description="the stage starts when DPD reaches this")


class ProductPolicyOut(Out):
    """A product's overdue policy as this service applies it: buckets (their names are the
    `bucket` values of listings and events), the escalation ladder and every rule's value."""

    product_code: str
    buckets: list[str] = Field(description="bucket names, from the lowest DPD up")
    stages: list[StageStart] = Field(description="the escalation ladder, in order")
    policy: OverduePolicySpec
