"""A loan product's overdue settings, with defaults and validation.

Products store their policy as an opaque dict (snake_case keys, decimals as
strings); ``OverduePolicy.from_mapping`` turns it into a validated value and
ignores keys it does not know, so products can carry settings for other services.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from overdue.domain.delinquency import Bucket, Buckets
from overdue.domain.escalation import EscalationLadder
from overdue.domain.invalid_policy import InvalidPolicy

__all__ = ["InvalidPolicy", "OverduePolicy", "PenaltyBase"]

# Rounding modes a product may choose for penalty booking; half-even is the default.
PENALTY_ROUNDING_MODES = frozenset({ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN})


class PenaltyBase(StrEnum):
    """What the daily penalty rate applies to. Never penalty or fees (no pyramiding)."""

    OVERDUE_PRINCIPAL = "overdue_principal"
    OVERDUE_PRINCIPAL_AND_INTEREST = "overdue_principal_and_interest"


@dataclass(frozen=True)
class OverduePolicy:
    """Every number that governs overdue handling for one loan product.

    - ``arrears_grace_days``: a loan is overdue only when DPD > this.
    - ``penalty_grace_days``: penalty accrues for days with DPD > this (separate setting).
    - ``penalty_daily_rate``: e.g. ``Decimal("0.0005")`` = 0.05 % a day.
    - ``penalty_base``: overdue principal (default) or overdue principal + interest.
    - ``penalty_rounding``: ``decimal`` rounding mode for booking; half-even by default.
    - ``annual_cost_ceiling``: contract interest + penalty + fees, annualised on the
      original principal, may not exceed this (e.g. ``Decimal("0.24")``).
    - ``absolute_penalty_cap_minor``: most penalty ever assessed on one loan, or ``None``.
    - ``buckets``, ``escalation``: DPD buckets and the collection ladder.
    - ``credit_report_notice_dpd``: DPD at which the pre-report notice becomes due.
    - ``credit_report_wait_days``: days after the notice was delivered before reporting.
    """

    arrears_grace_days: int = 3
    penalty_grace_days: int = 0
    penalty_daily_rate: Decimal = Decimal("0.0005")
    penalty_base: PenaltyBase = PenaltyBase.OVERDUE_PRINCIPAL
    penalty_rounding: str = ROUND_HALF_EVEN
    annual_cost_ceiling: Decimal = Decimal("0.24")
    absolute_penalty_cap_minor: int | None = None
    buckets: Buckets = field(default_factory=Buckets.default)
    escalation: EscalationLadder = field(default_factory=EscalationLadder)
    credit_report_notice_dpd: int = 30
    credit_report_wait_days: int = 14

    def __post_init__(self) -> None:
        _require_int("arrears_grace_days", self.arrears_grace_days, minimum=0)
        _require_int("penalty_grace_days", self.penalty_grace_days, minimum=0)
        _require_int("credit_report_notice_dpd", self.credit_report_notice_dpd, minimum=1)
        _require_int("credit_report_wait_days", self.credit_report_wait_days, minimum=0)
        if self.absolute_penalty_cap_minor is not None:
            _require_int("absolute_penalty_cap_minor", self.absolute_penalty_cap_minor, minimum=0)
        _require_decimal("penalty_daily_rate", self.penalty_daily_rate)
        if self.penalty_daily_rate < 0:
            raise InvalidPolicy(
                f"penalty_daily_rate must not be negative, got {self.penalty_daily_rate}"
            )
        _require_decimal("annual_cost_ceiling", self.annual_cost_ceiling)
        if self.annual_cost_ceiling <= 0:
            raise InvalidPolicy(
                f"annual_cost_ceiling must be positive, got {self.annual_cost_ceiling}"
            )
        if not isinstance(self.penalty_base, PenaltyBase):
            raise InvalidPolicy(f"penalty_base must be a PenaltyBase, got {self.penalty_base!r}")
        if self.penalty_rounding not in PENALTY_ROUNDING_MODES:
            raise InvalidPolicy(
                f"penalty_rounding must be one of {sorted(PENALTY_ROUNDING_MODES)}, "
                f"got {self.penalty_rounding!r}"
            )
        if not isinstance(self.buckets, Buckets):
            raise InvalidPolicy(f"buckets must be Buckets, got {type(self.buckets).__name__}")
        if not isinstance(self.escalation, EscalationLadder):
            raise InvalidPolicy(
                f"escalation must be an EscalationLadder, got {type(self.escalation).__name__}"
            )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "OverduePolicy":
        """Build from a product's policy dict; missing keys take defaults, unknown keys are
        ignored. Decimals come as strings (``"0.0005"``); floats are refused because they
        cannot carry an exact rate.

        ``buckets`` is a list of ``{"name", "min_dpd", "max_dpd"}`` (``max_dpd`` null or
        absent on the last); ``escalation`` a mapping with any of ``reminder_dpd``,
        ``early_dpd``, ``mid_dpd``, ``late_dpd``, ``legal_dpd``, ``charge_off_candidate_dpd``.
        """
        if not isinstance(raw, Mapping):
            raise InvalidPolicy(f"policy must be a mapping, got {type(raw).__name__}")
        kwargs: dict[str, Any] = {}
        for key in (
            "arrears_grace_days",
            "penalty_grace_days",
            "credit_report_notice_dpd",
            "credit_report_wait_days",
        ):
            if key in raw:
                kwargs[key] = _read_int(key, raw[key])
        for key in ("penalty_daily_rate", "annual_cost_ceiling"):
            if key in raw:
                kwargs[key] = _read_decimal(key, raw[key])
        if raw.get("absolute_penalty_cap_minor") is not None:
            kwargs["absolute_penalty_cap_minor"] = _read_int(
                "absolute_penalty_cap_minor", raw["absolute_penalty_cap_minor"]
            )
        if "penalty_base" in raw:
            try:
                kwargs["penalty_base"] = PenaltyBase(str(raw["penalty_base"]).lower())
            except ValueError:
                raise InvalidPolicy(
                    f"penalty_base must be one of {[b.value for b in PenaltyBase]}, "
                    f"got {raw['penalty_base']!r}"
                ) from None
        if "penalty_rounding" in raw:
            kwargs["penalty_rounding"] = str(raw["penalty_rounding"]).upper()
        if "buckets" in raw:
            kwargs["buckets"] = _read_buckets(raw["buckets"])
        if "escalation" in raw:
            kwargs["escalation"] = _read_ladder(raw["escalation"])
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of ``from_mapping``: JSON-ready, decimals as strings."""
        return {
            "arrears_grace_days": self.arrears_grace_days,
            "penalty_grace_days": self.penalty_grace_days,
            "penalty_daily_rate": str(self.penalty_daily_rate),
            "penalty_base": self.penalty_base.value,
            "penalty_rounding": self.penalty_rounding,
            "annual_cost_ceiling": str(self.annual_cost_ceiling),
            "absolute_penalty_cap_minor": self.absolute_penalty_cap_minor,
            "buckets": [
                {"name": b.name, "min_dpd": b.min_dpd, "max_dpd": b.max_dpd} for b in self.buckets
            ],
            "escalation": {
                f.name: getattr(self.escalation, f.name) for f in fields(EscalationLadder)
            },
            "credit_report_notice_dpd": self.credit_report_notice_dpd,
            "credit_report_wait_days": self.credit_report_wait_days,
        }


def _require_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPolicy(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise InvalidPolicy(f"{name} must be at least {minimum}, got {value}")


def _require_decimal(name: str, value: object) -> None:
    if not isinstance(value, Decimal):
        raise InvalidPolicy(f"{name} must be a Decimal, got {value!r}")
    if not value.is_finite():
        raise InvalidPolicy(f"{name} must be a finite number, got {value}")


def _read_int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise InvalidPolicy(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise InvalidPolicy(f"{name} must be an integer, got {value!r}")


def _read_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, float):
        raise InvalidPolicy(f'{name} must be a decimal string such as "0.0005", not a float')
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidPolicy(f"{name} must be a decimal string, got {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidPolicy(f"{name} is not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise InvalidPolicy(f"{name} must be a finite number, got {value!r}")
    return number


def _read_buckets(value: object) -> Buckets:
    if not isinstance(value, list | tuple):
        raise InvalidPolicy(f"buckets must be a list of {{name, min_dpd, max_dpd}}, got {value!r}")
    ranges: list[Bucket] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or "name" not in item or "min_dpd" not in item:
            raise InvalidPolicy(f"buckets[{index}] needs at least name and min_dpd, got {item!r}")
        raw_max = item.get("max_dpd")
        max_dpd = None if raw_max is None else _read_int(f"buckets[{index}].max_dpd", raw_max)
        ranges.append(
            Bucket(
                name=str(item["name"]),
                min_dpd=_read_int(f"buckets[{index}].min_dpd", item["min_dpd"]),
                max_dpd=max_dpd,
            )
        )
    return Buckets(tuple(ranges))


def _read_ladder(value: object) -> EscalationLadder:
    if not isinstance(value, Mapping):
        raise InvalidPolicy(f"escalation must be a mapping of stage DPDs, got {value!r}")
    known = {f.name for f in fields(EscalationLadder)}
    return EscalationLadder(
        **{key: _read_int(f"escalation.{key}", item) for key, item in value.items() if key in known}
    )
