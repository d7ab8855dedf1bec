"""The ledger database's own tables (the kit's outbox and processed-event tables come from lendkit).

Money columns are BIGINT minor units; rates are exact decimals stored as text.
Every schedule version is kept: ``loans.schedule_version`` points at the current one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

#: ``loan_version`` of the balance-carrying events (``ledger.adapters.loan_versions``)
loan_versions = Sequence("loan_versions", metadata=metadata)


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


products = Table(
    "products",
    metadata,
    Column("code", Text, primary_key=True),
    Column("currency", Text, nullable=False),
    Column("annual_rate", Text, nullable=False),
    Column("term", Integer, nullable=False),
    Column("frequency", Text, nullable=False),
    Column("schedule_type", Text, nullable=False),
    Column("day_count", Text, nullable=False),
    Column("rounding", Text, nullable=False),
    Column("allocation_strategy", Text, nullable=False),
    Column("allocation_components", ARRAY(Text), nullable=False),
    Column("reminder_days_before", ARRAY(Integer), nullable=False),
    Column("overdue_policy", JSONB, nullable=False),
    Column("notification_policy", JSONB, nullable=False),
    Column("restructure_policy", JSONB, nullable=False),
    _created_at(),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False),
    Column("product_code", Text, ForeignKey("products.code"), nullable=False),
    Column("currency", Text, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("annual_rate", Text, nullable=False),
    Column("disbursed_on", Date, nullable=False),
    Column("timezone", Text, nullable=False, server_default="Asia/Shanghai"),
    Column("status", Text, nullable=False),  # active | settled
    Column("schedule_version", Integer, nullable=False),
    Column("credit_balance", BigInteger, nullable=False, server_default="0"),
    Column("settled_on", Date, nullable=True),
    _created_at(),
)
Index("ix_loans_borrower", loans.c.borrower_id, loans.c.loan_id)
Index("ix_loans_status", loans.c.status, loans.c.loan_id)

schedule_versions = Table(
    "schedule_versions",
    metadata,
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("plan_id", Text, nullable=True),
    Column("effective_date", Date, nullable=False),
    Column("annual_rate", Text, nullable=False),
    Column("reference", Text, nullable=True),  # the event a plan's booking came from (0007)
    _created_at(),
    PrimaryKeyConstraint("loan_id", "version"),
)

#: One row per instalment per schedule version; ``outstanding_*`` are kept current for the
#: loan's current version after every replay (what close of business reads).
instalments = Table(
    "instalments",
    metadata,
    Column("loan_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
    Column("outstanding_principal", BigInteger, nullable=False),
    Column("outstanding_interest", BigInteger, nullable=False),
    Column("outstanding_penalty", BigInteger, nullable=False, server_default="0"),
    Column("outstanding_fee", BigInteger, nullable=False, server_default="0"),
    Column("interest_recognised", Boolean, nullable=False, server_default="false"),
    Column("settled_on", Date, nullable=True),
    PrimaryKeyConstraint("loan_id", "version", "seq"),
    ForeignKeyConstraint(
        ["loan_id", "version"], ["schedule_versions.loan_id", "schedule_versions.version"]
    ),
    # room on each page for outstanding amounts to be updated in place (HOT updates)
    postgresql_with={"fillfactor": 80},
)
Index("ix_instalments_due_date", instalments.c.due_date, instalments.c.loan_id)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", UUID(as_uuid=False), primary_key=True),
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("external_reference", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("receipt_order", BigInteger, Identity(), nullable=False),
    Column("reversed", Boolean, nullable=False, server_default="false"),
    Column("reversal_reason", Text, nullable=True),
    UniqueConstraint("loan_id", "external_reference", name="uq_payments_loan_reference"),
)
Index("ix_payments_loan", payments.c.loan_id, payments.c.value_date)

#: One row per (payment or credit application) per allocation version; ``current`` marks
#: the allocation the journal presently reflects.
allocations = Table(
    "allocations",
    metadata,
    Column("allocation_id", BigInteger, Identity(), primary_key=True),
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("source_kind", Text, nullable=False),  # payment | credit
    Column("source_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("credit", BigInteger, nullable=False),
    Column("current", Boolean, nullable=False),
    _created_at(),
    UniqueConstraint("loan_id", "source_kind", "source_id", "version"),
)
Index(
    "ix_allocations_current",
    allocations.c.loan_id,
    postgresql_where=allocations.c.current,
)

allocation_lines = Table(
    "allocation_lines",
    metadata,
    Column("allocation_id", BigInteger, ForeignKey("allocations.allocation_id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("component", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("allocation_id", "line_no"),
)

#: Penalties and fees booked (positive), waived (negative) or moved by a schedule rewrite
#: (kind ``transfer``). ``source_event_id`` makes each booking happen exactly once.
charges = Table(
    "charges",
    metadata,
    Column("charge_id", UUID(as_uuid=False), primary_key=True),
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("component", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),  # assessed | waived | transfer
    Column("business_date", Date, nullable=False),
    Column("source_event_id", Text, nullable=False, unique=True),
    _created_at(),
)
Index("ix_charges_loan", charges.c.loan_id)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("entry_id", UUID(as_uuid=False), primary_key=True),
    Column("entry_no", BigInteger, Identity(), nullable=False, unique=True),
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("currency", Text, nullable=False),
    Column("memo", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("reference", Text, nullable=True),
    _created_at(),
)
Index("ix_journal_entries_loan", journal_entries.c.loan_id, journal_entries.c.entry_no)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("entry_id", UUID(as_uuid=False), ForeignKey("journal_entries.entry_id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("loan_id", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
    PrimaryKeyConstraint("entry_id", "line_no"),
)
Index("ix_journal_lines_loan_account", journal_lines.c.loan_id, journal_lines.c.account)

#: One row per business date closed: running close of business twice does nothing new.
cob_runs = Table(
    "cob_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("upcoming", Integer, nullable=False, server_default="0"),
    Column("due", Integer, nullable=False, server_default="0"),
    Column("interest_recognised", Integer, nullable=False, server_default="0"),
    _created_at(),
)

#: Discounted settlements held from ``restructure.plan.accepted.v2`` until paid in time
#: (``completed``) or their deadline passes (``lapsed``). At most one pending per loan.
settlements = Table(
    "settlements",
    metadata,
    Column("plan_id", Text, primary_key=True),
    Column("loan_id", Text, ForeignKey("loans.loan_id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("accepted_on", Date, nullable=False),
    #: The accepted plan as received (``PlanAcceptedV2``), booked exactly when completed.
    Column("plan", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("resolved_on", Date, nullable=True),
    _created_at(),
)
Index(
    "ux_settlements_pending_loan",
    settlements.c.loan_id,
    unique=True,
    postgresql_where=settlements.c.status == "pending",
)

LEDGER_TABLES = (
    products,
    loans,
    schedule_versions,
    instalments,
    payments,
    allocations,
    allocation_lines,
    charges,
    journal_entries,
    journal_lines,
    cob_runs,
    settlements,
)
