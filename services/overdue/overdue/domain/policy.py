"""A loan product's overdue settings, with defaults and validation.

Products carry their overdue settings as the ``overdue_policy`` block (snake_case keys,
decimals as strings), whose schema is published in ``lendkit.contracts.policies``: the
ledger refuses a product whose block does not match it, and
``OverduePolicy.from_mapping`` parses the block with the same schema. The defaults are
the schema's.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any, get_args

from pydantic import ValidationError

from lendkit.contracts.policies import OverduePolicySpec, PenaltyRoundingName, policy_errors
from overdue.domain.delinquency import Buckets
from overdue.domain.escalation import EscalationLadder
from overdue.domain.invalid_policy import InvalidPolicy

__all__ = ["InvalidPolicy", "OverduePolicy", "PenaltyBase"]

# Rounding modes a product may choose for penalty booking; half-even is the default.
PENALTY_ROUNDING_MODES = frozenset(get_args(PenaltyRoundingName))


class PenaltyBase(StrEnum):
    """What the daily penalty rate applies to. Never penalty or fees (no pyramiding)."""

    OVERDUE_PRINCIPAL = "overdue_principal"
    OVERDUE_PRINCIPAL_AND_INTEREST = "overdue_principal_and_interest"


_DEFAULT = OverduePolicySpec()
_DEFAULT_BASE = PenaltyBase(_DEFAULT.penalty_base)


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

    arrears_grace_days: int = _DEFAULT.arrears_grace_days
    penalty_grace_days: int = _DEFAULT.penalty_grace_days
    penalty_daily_rate: Decimal = _DEFAULT.penalty_daily_rate
    penalty_base: PenaltyBase = _DEFAULT_BASE
    penalty_rounding: str = _DEFAULT.penalty_rounding
    annual_cost_ceiling: Decimal = _DEFAULT.annual_cost_ceiling
    absolute_penalty_cap_minor: int | None = _DEFAULT.absolute_penalty_cap_minor
    buckets: Buckets = field(default_factory=Buckets.default)
    escalation: EscalationLadder = field(default_factory=EscalationLadder)
    credit_report_notice_dpd: int = _DEFAULT.credit_report_notice_dpd
    credit_report_wait_days: int = _DEFAULT.credit_report_wait_days

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
        """Build from a product's ``overdue_policy`` block, parsed with the published schema
        (``lendkit.contracts.policies.OverduePolicySpec``, the one the ledger validates
        products with): missing settings take the schema's defaults; an unknown setting, a
        float rate, a string or boolean count, or a value out of range is refused."""
        if not isinstance(raw, Mapping):
            raise InvalidPolicy(f"policy must be a mapping, got {type(raw).__name__}")
        try:
            spec = OverduePolicySpec.model_validate(dict(raw))
        except ValidationError as exc:
            raise InvalidPolicy(policy_errors(exc)) from None
        return cls(
            arrears_grace_days=spec.arrears_grace_days,
            penalty_grace_days=spec.penalty_grace_days,
            penalty_daily_rate=spec.penalty_daily_rate,
            penalty_base=PenaltyBase(spec.penalty_base),
            penalty_rounding=spec.penalty_rounding,
            annual_cost_ceiling=spec.annual_cost_ceiling,
            absolute_penalty_cap_minor=spec.absolute_penalty_cap_minor,
            buckets=Buckets.of((b.name, b.min_dpd, b.max_dpd) for b in spec.buckets),
            escalation=EscalationLadder(**spec.escalation.model_dump()),
            credit_report_notice_dpd=spec.credit_report_notice_dpd,
            credit_report_wait_days=spec.credit_report_wait_days,
        )

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
