"""The overdue service's records: what its repositories and set-based adapters return.

``TrackedLoan`` is one ``loans`` row (the loan as the overdue service tracks it from the
ledger's events; the ledger has its own ``LoanRecord``). The close-of-business records
(``LoanDayInput`` read, ``LoanDayOutcome`` written back) are the vocabulary shared by
``service_layer.loan_day`` and ``adapters.close_of_business``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from lendkit.events.catalogue import EventPayload
from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.credit_report import CreditReportGate, GateStatus
from overdue.domain.escalation import Stage
from overdue.domain.penalty import LoanTerms, PenaltyDay, PenaltyState
from overdue.domain.policy import OverduePolicy


@dataclass(frozen=True)
class TrackedLoan:
    """One ``loans`` row, with the domain values it holds."""

    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal_minor: int
    disbursed_on: date
    oldest_unpaid_due_date: date | None
    bucket: str
    stage: str
    in_arrears: bool
    charge_off_candidate: bool
    paused: bool
    pause_reason: str | None
    penalty: PenaltyState
    fees_charged_minor: int
    gate: CreditReportGate
    ledger_version: int | None = None
    """The ledger's ``loan_version`` of the last balances applied."""
    plan_outcome_seen: str | None = None
    """The last plan whose outcome (rewrite, booking, lapse, break) was applied."""

    def is_stale(self, loan_version: int | None) -> bool:
        """Whether a ledger event of ``loan_version`` is older than what was applied (an
        event without a version, published before versions existed, never is)."""
        return (
            loan_version is not None
            and self.ledger_version is not None
            and loan_version < self.ledger_version
        )

    @property
    def terms(self) -> LoanTerms:
        return LoanTerms(self.principal_minor, self.disbursed_on)

    @classmethod
    def from_row(cls, row: Any) -> TrackedLoan:
        """``row``: a mapping by column name (an asyncpg record or a SQLAlchemy row mapping)."""
        return cls(
            loan_id=row["loan_id"],
            borrower_id=row["borrower_id"],
            product_code=row["product_code"],
            currency=row["currency"],
            principal_minor=row["principal_minor"],
            disbursed_on=row["disbursed_on"],
            oldest_unpaid_due_date=row["oldest_unpaid_due_date"],
            bucket=row["bucket"],
            stage=row["stage"],
            in_arrears=row["in_arrears"],
            charge_off_candidate=row["charge_off_candidate"],
            paused=row["paused"],
            pause_reason=row["pause_reason"],
            penalty=PenaltyState(
                last_accrued_on=row["last_accrued_on"],
                cumulative_exact=Decimal(row["cumulative_exact"]),
                assessed_to_date_minor=row["assessed_to_date_minor"],
                waived_to_date_minor=row["waived_to_date_minor"],
            ),
            fees_charged_minor=row["fees_charged_minor"],
            gate=CreditReportGate(
                status=GateStatus(row["gate_status"]),
                notice_due_on=row["notice_due_on"],
                notice_delivered_on=row["notice_delivered_on"],
                reportable_on=row["reportable_on"],
            ),
            ledger_version=row["ledger_version"],
            plan_outcome_seen=row.get("plan_outcome_seen"),  # not read by close of business
        )


@dataclass(frozen=True)
class NewLoan:
    """A disbursed loan as the ledger announced it (the ``loans`` row to insert)."""

    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal_minor: int
    disbursed_on: date
    timezone: str
    ledger_version: int | None


class PolicyLookup(NamedTuple):
    """Each product asked for: its overdue policy when the product was published with a valid
    one (``found``), else why not (``missing``: product code -> reason). A product without a
    valid policy never gets a default one: its loans are blocked until it arrives."""

    found: dict[str, OverduePolicy]
    missing: dict[str, str]


NOT_PUBLISHED = "product not published (no valid ledger.product.published.v1 received)"


@dataclass(frozen=True)
class WaiverRow:
    """One audit row of a penalty waiver (one part, one ``overdue.penalty.waived.v1``)."""

    waiver_id: str
    loan_id: str
    seq: int
    business_date: date
    amount_minor: int
    reason: str
    waived_by: str
    event_id: str


@dataclass(frozen=True)
class LoanDay:
    """One loan past due at the close of one date."""

    loan_id: str
    oldest_unpaid_due_date: date
    dpd: int
    bucket: str
    stage: str
    overdue: OverdueBreakdown


@dataclass(frozen=True)
class BlockedLoan:
    """A loan close of business could not review: its product has no valid policy."""

    loan_id: str
    product_code: str
    reason: str


@dataclass(frozen=True)
class RunClaim:
    """A close-of-business run's row, locked: where the committed cursor is."""

    resume_after: str | None
    finished: bool


@dataclass(frozen=True)
class RunTotals:
    loans_examined: int
    events_emitted: int


@dataclass(frozen=True)
class LoanDayInput:
    """What close of business knows about a loan on ``on``."""

    loan: TrackedLoan
    overdue: OverdueBreakdown
    """Unpaid amounts of instalments due before ``on``."""
    oldest_unpaid_seq: int | None
    interest_charged_minor: int
    """Scheduled contract interest of instalments due on or before ``on``."""


@dataclass(frozen=True)
class LoanDayOutcome:
    loan_id: str
    dpd: int
    bucket: str
    stage: Stage
    in_arrears: bool
    charge_off_candidate: bool
    penalty: PenaltyState
    gate: CreditReportGate
    penalty_day: PenaltyDay | None
    penalty_seq: int | None
    bucket_change: tuple[str, str] | None
    stage_change: tuple[str, str] | None
    events: list[EventPayload] = field(default_factory=list)


@dataclass(frozen=True)
class OverdueLoanRow:
    """One loan of the overdue-loans listing."""

    loan_id: str
    product_code: str
    currency: str
    oldest_unpaid_due_date: date
    days_past_due: int
    bucket: str
    stage: str
    in_arrears: bool
    paused: bool
    overdue_minor: int


@dataclass(frozen=True)
class BucketFiguresRow:
    """Per bucket and currency: loans, past-due amount, outstanding principal."""

    bucket: str
    currency: str
    loans: int
    past_due_minor: int
    outstanding_principal_minor: int


@dataclass(frozen=True)
class DayProgress:
    """How far this service has closed the ledger's business days."""

    first_closed: date | None
    last_closed: date | None
    last_closed_at: datetime | None
    #: the first day not closed here whose close-of-business markers began to arrive
    open_day: date | None
    markers_received: int
    partitions: int | None
    review_started: bool
