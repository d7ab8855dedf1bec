"""What the restructure repositories return: plain dataclasses (the adapters' vocabulary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.schedules import ScheduledInstalment
from restructure.domain.forbearance import ForbearanceClock
from restructure.domain.plans import Quote
from restructure.domain.position import LoanPosition, LoanTerms
from restructure.domain.promises import Promise


@dataclass(frozen=True)
class Product:
    code: str
    currency: str
    policy: RestructurePolicySpec


@dataclass(frozen=True)
class OpenInstalment:
    """What is still owed on one instalment (the ledger's balances, replaced on each event)."""

    seq: int
    due_date: date
    principal_minor: int
    interest_minor: int
    penalty_minor: int = 0
    fee_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.penalty_minor + self.fee_minor


@dataclass(frozen=True)
class LoanView:
    """The loan read model: what the service has seen of one loan."""

    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    annual_rate: Decimal
    terms: LoanTerms | None
    """None until the loan's product (its schedule terms) has been seen."""
    charged_off: bool
    payments_made: int
    ledger_version: int | None
    schedule_version: int
    instalments: tuple[OpenInstalment, ...] = ()

    def is_stale(self, loan_version: int | None) -> bool:
        """An event older than the balances already applied."""
        return is_stale(loan_version, self.ledger_version)


def is_stale(loan_version: int | None, applied: int | None) -> bool:
    """An event of ``loan_version`` is older than the balances applied at ``applied``."""
    return loan_version is not None and applied is not None and loan_version <= applied


def position_of(loan: LoanView, terms: LoanTerms, as_of: date, dpd: int) -> LoanPosition:
    """The loan's position on ``as_of``: unpaid principal and interest by instalment, and
    the penalty and fees owed."""
    return LoanPosition(
        loan_id=loan.loan_id,
        as_of=as_of,
        terms=terms,
        unpaid=tuple(
            ScheduledInstalment(i.seq, i.due_date, i.principal_minor, i.interest_minor)
            for i in loan.instalments
            if i.principal_minor or i.interest_minor
        ),
        penalty=sum(i.penalty_minor for i in loan.instalments),
        fee=sum(i.fee_minor for i in loan.instalments),
        dpd=dpd,
    )


@dataclass(frozen=True)
class HardshipRequest:
    request_id: str
    loan_id: str
    borrower_id: str
    reason: str
    status: str
    requested_on: date


@dataclass(frozen=True)
class QuoteRow:
    """One plan type's answer to a request: an exact quote, or every reason it is refused."""

    quote_id: str
    request_id: str
    loan_id: str
    plan_type: str
    eligible: bool
    reasons: tuple[str, ...]
    quote: Quote | None
    expires_on: date


@dataclass(frozen=True)
class Offer:
    offer_id: str
    loan_id: str
    request_id: str | None
    quote_id: str | None
    plan_type: str
    quote: Quote
    position: LoanPosition
    """The position the quote was computed on (the plan event is built from it)."""
    status: str
    made_by: str
    needs_approval: bool
    approved_by: str | None
    expires_on: date
    forgiven_minor: int


@dataclass(frozen=True)
class Plan:
    plan_id: str
    loan_id: str
    offer_id: str
    plan_type: str
    status: str
    instalments: tuple[ScheduledInstalment, ...]
    accepted_on: date
    activated_on: date | None = None
    closed_on: date | None = None
    broken_seq: int | None = None


@dataclass(frozen=True)
class PromiseRow:
    promise: Promise
    loan_id: str
    source: str
    status: str
    matched_minor: int


@dataclass(frozen=True)
class AuditStep:
    subject_kind: str
    subject_id: str
    loan_id: str
    step: str
    actor: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Forborne:
    loan_id: str
    clock: ForbearanceClock
