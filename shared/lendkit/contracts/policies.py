"""The policy blocks a loan product carries, one schema per owning service.

A product (``POST /products`` on the ledger, ``ledger.product.published.v1``) carries three
blocks: ``overdue_policy`` (the overdue service), ``notification_policy`` (the notifier)
and ``restructure_policy`` (the restructure service). The ledger does not interpret them;
it validates each against the schema here, refuses the product (422) when one is wrong,
and publishes them normalised (every setting explicit, defaults filled in) so a product's
terms never change when a default does. Each owning service parses its block with the
same model, so there is one definition of what a policy may say.

Every block refuses what it does not know: an unknown key (a typo such as
``penalty_rate``) is an error, not a silently ignored setting. Rates are decimal strings
(``"0.0005"``), never floats; counts and money are integers (``true`` and ``3.0`` are
refused); every day count and every cap has a range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

#: Longest DPD any policy setting may name (ten years of days past due).
MAX_DPD = 3650
#: Longest grace a product may give before a loan is overdue or penalty starts.
MAX_GRACE_DAYS = 90
#: Largest daily penalty rate (1 % a day); the annual cost ceiling caps it further.
MAX_PENALTY_DAILY_RATE = Decimal("0.01")
#: Largest annual cost ceiling (100 % a year); the legal lines are 24 % and 36 %.
MAX_ANNUAL_COST_CEILING = Decimal("1")
#: Largest amount in minor units any policy names (as the ledger's amounts).
MAX_MINOR = 10**15

_DECIMAL_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,12})?$"
_DECIMAL = re.compile(_DECIMAL_PATTERN)


def _decimal_text(value: object) -> object:
    """A rate from a product: a decimal string (or a ``Decimal`` from Python code)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise ValueError('must be a decimal string such as "0.0005", not a float')
    if not isinstance(value, str):
        raise ValueError(f'must be a decimal string such as "0.0005", got {type(value).__name__}')
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f'must be a decimal string such as "0.0005", got {value!r}')
    return Decimal(value)


#: A non-negative decimal rate, written as a string in JSON.
DecimalText = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN}),
]
DpdCount = Annotated[StrictInt, Field(ge=0, le=MAX_DPD)]
GraceDays = Annotated[StrictInt, Field(ge=0, le=MAX_GRACE_DAYS)]
_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class PolicyModel(BaseModel):
    """A policy block: unknown keys refused, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def policy_errors(error: ValidationError) -> str:
    """A pydantic failure as one line naming each setting: ``penalty_rate: unknown setting``."""
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "policy"
        message = (
            "unknown setting"
            if e["type"] == "extra_forbidden"
            else e["msg"].removeprefix("Value error, ")
        )
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


# Overdue -------------------------------------------------------------------------------


def bucket_problem(name: str, min_dpd: int, max_dpd: int | None) -> str | None:
    """What is wrong with one DPD bucket (both ends inclusive, ``None`` = open-ended)."""
    if not name.strip():
        return "bucket name must not be empty"
    if min_dpd < 0:
        return f"bucket {name!r}: min_dpd must not be negative"
    if max_dpd is not None and max_dpd < min_dpd:
        return f"bucket {name!r}: max_dpd {max_dpd} is below min_dpd {min_dpd}"
    return None


def buckets_problem(ranges: Sequence[tuple[str, int, int | None]]) -> str | None:
    """What is wrong with a bucket list: buckets must be ordered, contiguous, uniquely named,
    start at DPD 0 and end open-ended (only the last)."""
    if not ranges:
        return "buckets: at least one bucket is required"
    for bucket in ranges:
        if problem := bucket_problem(*bucket):
            return problem
    names = [name for name, _, _ in ranges]
    if len(set(names)) != len(names):
        return f"buckets: names must be unique, got {names}"
    first, first_min, _ = ranges[0]
    if first_min != 0:
        return f"buckets: the first bucket must start at DPD 0, {first!r} starts at {first_min}"
    for (name, low, high), (next_name, next_low, _) in pairwise(ranges):
        if high is None:
            return f"buckets: only the last bucket may be open-ended, {name!r} is not last"
        if next_low <= high:
            return f"buckets: {name!r} ({low}-{high}) overlaps {next_name!r} (from {next_low})"
        if next_low > high + 1:
            return f"buckets: gap between {name!r} (to {high}) and {next_name!r} (from {next_low})"
    last, _, last_max = ranges[-1]
    if last_max is not None:
        return f"buckets: the last bucket {last!r} must be open-ended"
    return None


def escalation_problem(starts: Sequence[tuple[str, int]], charge_off_dpd: int) -> str | None:
    """What is wrong with a collection ladder: ``(stage, first DPD)`` strictly ascending from
    DPD 1 or later, and the charge-off candidate DPD not before the last stage."""
    first_stage, first_dpd = starts[0]
    if first_dpd < 1:
        return f"escalation ladder: {first_stage} must start at DPD 1 or later, got {first_dpd}"
    for (lower, lower_dpd), (upper, upper_dpd) in pairwise(starts):
        if upper_dpd <= lower_dpd:
            return (
                f"escalation ladder: {upper} (DPD {upper_dpd}) must start after "
                f"{lower} (DPD {lower_dpd})"
            )
    last_stage, last_dpd = starts[-1]
    if charge_off_dpd < last_dpd:
        return (
            f"escalation ladder: charge-off candidate DPD {charge_off_dpd} "
            f"is before {last_stage} (DPD {last_dpd})"
        )
    return None


class BucketSpec(PolicyModel):
    name: str = Field(min_length=1, max_length=40, pattern=_NAME_PATTERN)
    min_dpd: DpdCount
    max_dpd: DpdCount | None = Field(default=None, description="null on the last bucket")


#: current, 1-30, 31-60, 61-90, 91-120, 120+ (that is, 121 and more).
DEFAULT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)


#: The escalation ladder's stages, in order ("current": not in collections).
StageName = Literal["current", "reminder", "early", "mid", "late", "legal"]

#: A delinquency bucket: one of the loan's product's ``overdue_policy.buckets`` names
#: (``GET /products/{code}/policy`` on the overdue service lists them).
BucketName = Annotated[
    str,
    Field(
        min_length=1,
        description="one of the product's bucket names (overdue_policy.buckets; by default "
        + ", ".join(name for name, _, _ in DEFAULT_BUCKETS)
        + ")",
    ),
]


class EscalationSpec(PolicyModel):
    """DPD at which each collection stage starts; a charge-off candidate is a flag."""

    reminder_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 1
    early_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 4
    mid_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 31
    late_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 61
    legal_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 91
    charge_off_candidate_dpd: Annotated[StrictInt, Field(ge=1, le=MAX_DPD)] = 180

    def starts(self) -> list[tuple[str, int]]:
        return [
            ("reminder", self.reminder_dpd),
            ("early", self.early_dpd),
            ("mid", self.mid_dpd),
            ("late", self.late_dpd),
            ("legal", self.legal_dpd),
        ]

    @model_validator(mode="after")
    def _ascending(self) -> Self:
        if problem := escalation_problem(self.starts(), self.charge_off_candidate_dpd):
            raise ValueError(problem)
        return self


PenaltyBaseName = Literal["overdue_principal", "overdue_principal_and_interest"]
PenaltyRoundingName = Literal["ROUND_HALF_EVEN", "ROUND_HALF_UP", "ROUND_DOWN"]


class OverduePolicySpec(PolicyModel):
    """What the overdue service needs from a product (its domain: ``OverduePolicy``)."""

    arrears_grace_days: GraceDays = Field(
        default=3, description="a loan is overdue only when DPD exceeds this"
    )
    penalty_grace_days: GraceDays = Field(
        default=0, description="penalty accrues for days with DPD above this"
    )
    penalty_daily_rate: Annotated[DecimalText, Field(ge=0, le=MAX_PENALTY_DAILY_RATE)] = Field(
        default=Decimal("0.0005"), description='daily rate, "0.0005" = 0.05 % a day'
    )
    penalty_base: PenaltyBaseName = "overdue_principal"
    penalty_rounding: PenaltyRoundingName = "ROUND_HALF_EVEN"
    annual_cost_ceiling: Annotated[DecimalText, Field(gt=0, le=MAX_ANNUAL_COST_CEILING)] = Field(
        default=Decimal("0.24"),
        description="contract interest + penalty + fees, annualised on the principal",
    )
    absolute_penalty_cap_minor: Annotated[StrictInt, Field(ge=0, le=MAX_MINOR)] | None = Field(
        default=None, description="most penalty ever assessed on one loan; null = none"
    )
    buckets: list[BucketSpec] = Field(
        default_factory=lambda: [
            BucketSpec(name=n, min_dpd=lo, max_dpd=hi) for n, lo, hi in DEFAULT_BUCKETS
        ],
        min_length=1,
        max_length=20,
    )
    escalation: EscalationSpec = Field(default_factory=EscalationSpec)
    credit_report_notice_dpd: Annotated[StrictInt, Field(ge=1, le=365)] = Field(
        default=30, description="DPD at which the pre-report notice becomes due"
    )
    credit_report_wait_days: Annotated[StrictInt, Field(ge=0, le=365)] = Field(
        default=14, description="days after the notice was delivered before reporting"
    )

    @model_validator(mode="after")
    def _contiguous_buckets(self) -> Self:
        ranges = [(b.name, b.min_dpd, b.max_dpd) for b in self.buckets]
        if problem := buckets_problem(ranges):
            raise ValueError(problem)
        return self


# Notification --------------------------------------------------------------------------

Channel = Literal["push", "sms", "email", "voice"]
Language = Literal["zh-CN", "en"]
_CHANNELS: tuple[Channel, ...] = ("push", "sms", "email", "voice")
_LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")]


class QuietHoursSpec(PolicyModel):
    """No contact from ``start`` until ``end``, local time in the borrower's timezone."""

    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _a_window(self) -> Self:
        if self.start == self.end:
            raise ValueError(
                f"quiet hours of {self.jurisdiction}: start and end are both {self.start}"
            )
        return self


class NotificationPolicySpec(PolicyModel):
    """The contact policy the notifier enforces for the product's borrowers.

    The caps are the regulatory maxima by default (US Regulation F: 7 call attempts in 7
    days, none for 7 days after a conversation; China: 6 unanswered attempts a day per
    number, 3 connected automated voice calls a day): a product may be stricter, never
    looser, so each is bounded by its maximum.
    """

    quiet_hours: list[QuietHoursSpec] = Field(
        default_factory=lambda: [
            QuietHoursSpec(jurisdiction="US", start="21:00", end="08:00"),
            QuietHoursSpec(jurisdiction="CN", start="22:00", end="08:00"),
        ],
        min_length=1,
        max_length=50,
    )
    channels: list[Channel] = Field(
        default_factory=lambda: list(_CHANNELS), min_length=1, max_length=4
    )
    languages: list[Language] = Field(
        default_factory=lambda: list(_LANGUAGES), min_length=1, max_length=2
    )
    max_call_attempts_per_7_days: Annotated[StrictInt, Field(ge=0, le=7)] = 7
    no_calls_days_after_conversation: Annotated[StrictInt, Field(ge=7, le=30)] = 7
    max_unanswered_attempts_per_day_per_number: Annotated[StrictInt, Field(ge=0, le=6)] = 6
    max_connected_voice_calls_per_day: Annotated[StrictInt, Field(ge=0, le=3)] = 3

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        jurisdictions = [q.jurisdiction for q in self.quiet_hours]
        for name, values in (
            ("quiet_hours jurisdictions", jurisdictions),
            ("channels", self.channels),
            ("languages", self.languages),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must not repeat, got {values}")
        return self


# Restructure ---------------------------------------------------------------------------

RestructureOption = Literal[
    "payment_holiday",
    "term_extension",
    "re_amortisation",
    "rate_reduction",
    "penalty_waiver",
    "discounted_settlement",
    "promise_to_pay",
]

_DEFAULT_OPTIONS: tuple[RestructureOption, ...] = (
    "payment_holiday",
    "term_extension",
    "promise_to_pay",
)


class RestructurePolicySpec(PolicyModel):
    """Who may be offered a plan, how often, for how long, and which options."""

    min_dpd: DpdCount = Field(default=1, description="eligible from this DPD (inclusive)")
    max_dpd: DpdCount = Field(default=180, description="eligible up to this DPD (inclusive)")
    max_restructures_in_12_months: Annotated[StrictInt, Field(ge=0, le=12)] = 1
    offer_expiry_days: Annotated[StrictInt, Field(ge=1, le=90)] = 7
    allowed_options: list[RestructureOption] = Field(
        default_factory=lambda: list(_DEFAULT_OPTIONS),
        min_length=1,
        max_length=7,
    )
    min_payments_made: Annotated[StrictInt, Field(ge=0, le=600)] = Field(
        default=0, description="instalments the borrower must have paid before any plan"
    )
    hardship_reason_required_for: list[RestructureOption] = Field(
        default_factory=list, max_length=7, description="options that need a stated reason"
    )
    max_discount_bps: Annotated[StrictInt, Field(ge=0, le=10_000)] = Field(
        default=0, description="largest settlement discount, basis points of what is owed"
    )
    max_extension_periods: Annotated[StrictInt, Field(ge=1, le=120)] = 12
    max_holiday_periods: Annotated[StrictInt, Field(ge=1, le=12)] = 3
    deferred_interest: Literal["capitalise", "add_to_first", "waive"] = "capitalise"
    approval_threshold_minor: Annotated[StrictInt, Field(ge=0)] = Field(
        default=0,
        description="settlements and waivers forgiving more than this need a second person",
    )
    plan_grace_days: Annotated[StrictInt, Field(ge=0, le=60)] = 5
    on_break: Literal["resume_collections", "restore_original_terms"] = "resume_collections"
    promise_grace_days: Annotated[StrictInt, Field(ge=0, le=30)] = 2
    promise_amount_threshold_minor: Annotated[StrictInt, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _a_range(self) -> Self:
        if self.max_dpd < self.min_dpd:
            raise ValueError(f"max_dpd {self.max_dpd} is below min_dpd {self.min_dpd}")
        if len(set(self.allowed_options)) != len(self.allowed_options):
            raise ValueError(f"allowed_options must not repeat, got {self.allowed_options}")
        return self
