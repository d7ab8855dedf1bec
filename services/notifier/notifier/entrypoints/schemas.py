"""The notifier's request and response shapes. Profiles are answered without addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lendkit.openapi import FreeText
from lendkit.pagination import Page
from notifier.domain.policy import Channel, Jurisdiction

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
