"""The overdue database's own tables (the kit's outbox and processed-event tables come from lendkit).

- ``products``: each product's overdue policy, as the ledger published it.
- ``loans``: the read model of each loan plus its delinquency, penalty and credit-report
  state. ``oldest_unpaid_due_date`` is derived from ``instalments`` whenever balances
  change; a partial index on it lets close of business touch only due and overdue loans.
- ``instalments``: what is still owed on each instalment, by component (replaced from the
  ledger's ``balances``), plus the scheduled interest (for the cost ceiling).
- ``penalty_days``: one row per loan and business date that accrued (UNIQUE: never two
  penalties for a loan and a date), with base, rate, exact amount, booked amount and cap.
- ``penalty_waivers``: the audit record of every waiver, one row per instalment it is
  spread over, with what the ledger booked for it.
- ``bucket_history`` / ``stage_history``: every transition, for roll rates and audit.
- ``loan_days``: what close of business found for each loan past due on a date (oldest
  unpaid due date, DPD, bucket, stage, past-due amounts): the recorded history a past
  day's explanation is answered from.
- ``day_markers`` / ``cob_runs``: the ledger's close-of-business markers per partition and
  the close-of-business runs (one per business date).
- ``blocked_loan_days``: loans a close of business could not review because their product
  has no valid overdue policy (one row per loan and date, with the reason).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("code", Text, primary_key=True),
    Column("currency", Text, nullable=False),
    Column("overdue_policy", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Products whose published policy was refused (dead-lettered): their loans are blocked at
# close of business. A loan's product that is in neither table is still on its way
# (ledger.products is another topic): close of business by the ledger's markers waits for it.
refused_products = Table(
    "refused_products",
    metadata,
    Column("code", Text, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("refused_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False),
    Column("product_code", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("disbursed_on", Date, nullable=False),
    Column("timezone", Text, nullable=False),
    # derived from instalments whenever balances change (never rewritten day by day)
    Column("oldest_unpaid_due_date", Date, nullable=True),
    # delinquency as of the last close of business that looked at the loan; DPD itself is
    # never stored: it is derived from oldest_unpaid_due_date and the business date
    Column("bucket", Text, nullable=False, server_default="current"),
    Column("stage", Text, nullable=False, server_default="current"),
    Column("in_arrears", Boolean, nullable=False, server_default="false"),
    Column("charge_off_candidate", Boolean, nullable=False, server_default="false"),
    # pause (restructuring negotiated/active, or ops)
    Column("paused", Boolean, nullable=False, server_default="false"),
    Column("pause_reason", Text, nullable=True),
    # the last plan whose outcome (rewrite, booking, lapse, break) this service applied: its
    # acceptance, on another topic, may arrive after it and must not pause the loan again
    Column("plan_outcome_seen", Text, nullable=True),
    # penalty state (domain PenaltyState)
    Column("last_accrued_on", Date, nullable=True),
    Column("cumulative_exact", Numeric, nullable=False, server_default="0"),
    Column("assessed_to_date_minor", BigInteger, nullable=False, server_default="0"),
    Column("waived_to_date_minor", BigInteger, nullable=False, server_default="0"),
    # cost-ceiling inputs besides scheduled interest (kept on instalments)
    Column("fees_charged_minor", BigInteger, nullable=False, server_default="0"),
    # credit-report gate (domain CreditReportGate)
    Column("gate_status", Text, nullable=False, server_default="not_due"),
    Column("notice_due_on", Date, nullable=True),
    Column("notice_delivered_on", Date, nullable=True),
    Column("reportable_on", Date, nullable=True),
    # the ledger's loan_version of the last balances applied (older events are ignored)
    Column("ledger_version", BigInteger, nullable=True),
    # room on each page for close of business to update rows in place (HOT updates)
    postgresql_with={"fillfactor": 80},
)
Index(
    "ix_loans_oldest_unpaid_due_date",
    loans.c.oldest_unpaid_due_date,
    postgresql_where=text("oldest_unpaid_due_date IS NOT NULL"),
)
Index("ix_loans_bucket_loan", loans.c.bucket, loans.c.loan_id)
Index("ix_loans_borrower", loans.c.borrower_id)

instalments = Table(
    "instalments",
    metadata,
    Column("loan_id", Text, ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("scheduled_interest_minor", BigInteger, nullable=False, server_default="0"),
    Column("principal_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False),
    Column("penalty_minor", BigInteger, nullable=False, server_default="0"),
    Column("fee_minor", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("loan_id", "seq"),
)

penalty_days = Table(
    "penalty_days",
    metadata,
    Column("loan_id", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("base_minor", BigInteger, nullable=False),
    Column("rate", Numeric, nullable=False),
    Column("exact", Numeric, nullable=False),
    Column("booked_minor", BigInteger, nullable=False),
    Column("forgone_minor", BigInteger, nullable=False, server_default="0"),
    Column("cap_applied", Text, nullable=True),
    UniqueConstraint("loan_id", "business_date", name="uq_penalty_days_loan_date"),
)

penalty_waivers = Table(
    "penalty_waivers",
    metadata,
    Column("waiver_id", Text, primary_key=True),
    Column("loan_id", Text, nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("waived_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the overdue.penalty.waived.v1 event sent for this part, and what the ledger booked
    # for it (its ChargeBooked); NULL until the ledger confirmed
    Column("event_id", Text, nullable=True, unique=True),
    Column("booked_minor", BigInteger, nullable=True),
)

bucket_history = Table(
    "bucket_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("loan_id", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("from_bucket", Text, nullable=False),
    Column("to_bucket", Text, nullable=False),
    Column("dpd", Integer, nullable=False),
)
Index("ix_bucket_history_loan_date", bucket_history.c.loan_id, bucket_history.c.business_date)

stage_history = Table(
    "stage_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("loan_id", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("from_stage", Text, nullable=False),
    Column("to_stage", Text, nullable=False),
    Column("dpd", Integer, nullable=False),
)
Index("ix_stage_history_loan_date", stage_history.c.loan_id, stage_history.c.business_date)

loan_days = Table(
    "loan_days",
    metadata,
    Column("loan_id", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("oldest_unpaid_due_date", Date, nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("bucket", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("overdue_principal_minor", BigInteger, nullable=False),
    Column("overdue_interest_minor", BigInteger, nullable=False),
    Column("overdue_penalty_minor", BigInteger, nullable=False),
    Column("overdue_fee_minor", BigInteger, nullable=False),
    PrimaryKeyConstraint("loan_id", "business_date"),
)

day_markers = Table(
    "day_markers",
    metadata,
    Column("business_date", Date, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("partitions", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("business_date", "partition"),
)

cob_runs = Table(
    "cob_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("trigger", Text, nullable=False),
    Column("loans_examined", Integer, nullable=False, server_default="0"),
    Column("events_emitted", Integer, nullable=False, server_default="0"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # the last loan_id whose review for this date is committed (chunked runs resume after it)
    Column("resume_after", Text, nullable=True),
)

# loans close of business could not review on a date: their product has no valid overdue
# policy (not yet published, or refused); no penalty and no DPD-driven event for that day
blocked_loan_days = Table(
    "blocked_loan_days",
    metadata,
    Column("business_date", Date, nullable=False),
    Column("loan_id", Text, nullable=False),
    Column("product_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("business_date", "loan_id"),
)

__all__ = [
    "blocked_loan_days",
    "bucket_history",
    "cob_runs",
    "day_markers",
    "instalments",
    "loan_days",
    "loans",
    "metadata",
    "penalty_days",
    "penalty_waivers",
    "products",
    "stage_history",
]
