"""The notifier's request and response shapes. Profiles are answered without addresses."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lendkit.contracts.money import Currency
from lendkit.contracts.policies import StageName
from lendkit.openapi import FreeText
from lendkit.pagination import Page
from notifier.domain.policy import CallOutcome, Channel, Jurisdiction

Language = Literal["zh-CN", "en"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelIn(_In):
    channel: Channel
    address: FreeText = Field(
        min_length=1, max_length=320, description="Phone number, email or push token."
    )
    priority: int = Field(default=100, ge=1, le=1000, description="Lower goes first.")


class ProfileIn(_In):
    language: Language = "zh-CN"
    timezone: FreeText | None = Field(
        default=None, max_length=64, description="IANA zone; null when unknown."
    )
    jurisdiction: Jurisdiction = Jurisdiction.OTHER
    channels: list[ChannelIn] = Field(default_factory=list, max_length=8)


class PreferencesIn(_In):
    language: Language | None = None
    opted_out: list[Channel] = Field(
        default_factory=list,
        max_length=4,
        description="The channels refused; the others are allowed.",
    )


class InboundMessageIn(_In):
    channel: Channel
    from_address: FreeText = Field(min_length=1, max_length=320)
    text: FreeText = Field(max_length=2000)


class ChannelOut(BaseModel):
    channel: Channel
    address_id: str
    priority: int
    opted_out: bool


class ProfileOut(BaseModel):
    borrower_id: str
    language: str
    timezone: str | None
    jurisdiction: Jurisdiction
    channels: list[ChannelOut]


class InboundOut(BaseModel):
    opted_out: bool


class AttemptOut(BaseModel):
    attempt_id: str
    borrower_id: str
    loan_id: str | None
    purpose: str
    state: str
    channel: str | None
    rule: str | None
    reasons: list[str]
    until: datetime | None
    template: str | None
    template_version: str | None
    provider: str | None
    recorded_at: datetime


AttemptPage = Page[AttemptOut]


class ReceiptIn(_In):
    """A provider's delivery receipt for an attempt it was handed (the attempt id is the
    provider's idempotency key, so no lookup is needed)."""

    attempt_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9a-fA-F-]+$")
    status: Literal["delivered", "failed"]
    reason: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z0-9_.-]+$",
        description="A failure code (never free text: no personal data reaches the record).",
    )
    provider_reference: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    occurred_at: datetime | None = Field(default=None, description="The provider's own time.")


class ReceiptOut(BaseModel):
    attempt_id: str
    state: str
    recorded: bool = Field(description="False for a replayed receipt: nothing new recorded.")
    seconds_to_receipt: float | None
    failed_over_to: str | None = Field(
        default=None,
        description="A failed receipt when the channel has a next provider: the attempt is"
        " queued again for it (no notifier.message.failed yet).",
    )


class SuppressionCount(BaseModel):
    rule: str
    state: Literal["suppressed", "deferred", "undeliverable"]
    attempts: int


class SuppressionReport(BaseModel):
    since: datetime
    until: datetime
    by_rule: list[SuppressionCount]


class DeliveryStat(BaseModel):
    channel: str
    provider: str
    sent: int
    delivered: int
    failed: int
    delivery_rate: float | None = Field(description="delivered / sent (None when nothing sent).")
    median_seconds_to_receipt: float | None
    p90_seconds_to_receipt: float | None


class DeliveryReport(BaseModel):
    since: datetime
    until: datetime
    by_channel_and_provider: list[DeliveryStat]


class UndeliverableOut(BaseModel):
    attempt_id: str
    borrower_id: str
    loan_id: str | None
    purpose: str
    rule: str | None
    reasons: list[str]
    recorded_at: datetime


UndeliverablePage = Page[UndeliverableOut]
# Call centre -----------------------------------------------------------------------------


class CallTaskOut(BaseModel):
    """An open call task for the call centre. ``phone`` is the one place a number leaves the
    service: to the call centre (service role), as a provider receives an address."""

    call_id: str
    loan_id: str | None
    borrower_id: str
    purpose: str
    phone: str
    language: str
    opened_at: datetime


CallTaskPage = Page[CallTaskOut]


class CallRequestIn(_In):
    automated: bool = Field(default=False, description="a voice robot places the call")


class CallRequestOut(BaseModel):
    call_id: str
    outcome: Literal["open", "deferred", "suppressed", "undeliverable"] = Field(
        description="open: listed for the call centre; otherwise the contact policy's decision"
    )
    rule: str | None
    until: datetime | None


class CallOutcomeIn(_In):
    outcome: CallOutcome
    automated: bool = Field(default=False, description="placed by a voice robot")
    promised_on: date | None = Field(default=None, description="promise_to_pay only")
    amount_minor: int | None = Field(
        default=None, ge=1, le=10**15, description="promise_to_pay only"
    )
    currency: Currency | None = Field(default=None, description="promise_to_pay only")


class CallOutcomeOut(BaseModel):
    call_id: str
    loan_id: str
    outcome: CallOutcome
    promise_id: str | None


# Strategy --------------------------------------------------------------------------------

MessageChannel = Literal["push", "sms", "email"]


class StageStrategyIn(_In):
    channels: list[MessageChannel] = Field(
        default_factory=list,
        max_length=3,
        description="message channels in order (the first the borrower has is used; empty: "
        "the borrower's own priority)",
    )
    call: bool = Field(default=False, description="the stage asks the call centre for a call")
    cadence_days: int = Field(
        default=0,
        ge=0,
        le=30,
        description="at most one non-urgent message per loan in so many days",
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"channels must not repeat, got {self.channels}")
        return self


class StrategyIn(_In):
    stages: dict[StageName, StageStrategyIn] = Field(
        description="per stage (current, reminder, early, mid, late, legal); a stage left out "
        "sends by the borrower's priority, without calls"
    )


class StrategyOut(BaseModel):
    version: int = Field(description="0: the built-in default")
    stages: dict[str, StageStrategyIn]


# Clock -----------------------------------------------------------------------------------


class ClockIn(_In):
    simulated: bool = Field(default=True, description="false: back to the wall clock")
    business_date: date | None = Field(
        default=None, description="default: the last business day the ledger closed"
    )
    time_of_day: time | None = Field(
        default=None, description="local time in the business timezone (HH:MM[:SS])"
    )


class ClockOut(BaseModel):
    now: datetime = Field(description="the notifier's now")
    simulated: bool
    business_date: date | None
    time_of_day: time | None
    timezone: str
