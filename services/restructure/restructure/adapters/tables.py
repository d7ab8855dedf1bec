"""The restructure database's own tables (the kit's outbox and processed-event tables come
from lendkit).

- ``products``: each product's restructure policy, as the ledger published it.
- ``loans`` / ``loan_instalments``: the read model of each loan fed from ``ledger.loans``
  (terms, unpaid instalments) and ``overdue.loans`` (DPD, charge-off), what quotes start
  from.
- ``requests``: hardship requests; at most one pending per loan (partial unique index).
- ``quotes``: one per plan type and request, eligible or not (with every reason), the
  exact quote as JSON, expiring.
- ``offers``: offers to the borrower (from a quote or made by operations), with the maker
  and, above the product's threshold, the checker (never the same person: CHECK).
- ``plans``: accepted plans and their status; at most one accepted or active plan per loan.
- ``audit_trail``: every step (who, when, what) of requests, offers and plans.
- ``loan_payments``: payments seen on each loan (promises are matched to them).
- ``business_day_markers`` / ``business_days``: the ledger's close-of-business markers seen,
  and the days reviewed here once every partition's marker arrived (the business clock).
- ``promises``: promises to pay and their outcome.
- ``forbearance``: each forborne loan's clocks.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
    Column("restructure_policy", JSONB, nullable=False),
    Column("schedule_type", Text, nullable=True),
    Column("frequency", Text, nullable=True),
    Column("day_count", Text, nullable=True),
    Column("rounding", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False),
    Column("product_code", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("annual_rate", Numeric, nullable=False),
    Column("schedule_type", Text, nullable=True),
    Column("frequency", Text, nullable=True),
    Column("day_count", Text, nullable=True),
    Column("rounding", Text, nullable=True),
    Column("penalty_minor", BigInteger, nullable=False, server_default="0"),
    Column("fee_minor", BigInteger, nullable=False, server_default="0"),
    Column("dpd", Integer, nullable=False, server_default="0"),
    Column("charged_off", Boolean, nullable=False, server_default="false"),
    Column("payments_made", Integer, nullable=False, server_default="0"),
    Column("disbursed_on", Date, nullable=True),
    Column("ledger_version", Integer, nullable=True),
    Column("schedule_version", Integer, nullable=False, server_default="1"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("loans_borrower_idx", "borrower_id"),
)

loan_instalments = Table(
    "loan_instalments",
    metadata,
    Column("loan_id", Text, ForeignKey("loans.loan_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False),
    Column("penalty_minor", BigInteger, nullable=False, server_default="0"),
    Column("fee_minor", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("loan_id", "seq"),
)

loan_payments = Table(
    "loan_payments",
    metadata,
    Column("loan_id", Text, nullable=False),
    Column("payment_id", Text, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("reversed", Boolean, nullable=False, server_default="false"),
    PrimaryKeyConstraint("loan_id", "payment_id"),
)

business_day_markers = Table(
    "business_day_markers",
    metadata,
    Column("business_date", Date, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("partitions", Integer, nullable=False),
    PrimaryKeyConstraint("business_date", "partition"),
)

business_days = Table(
    "business_days",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("loan_id", Text, nullable=False),
    Column("borrower_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "requests_one_pending_per_loan",
        "loan_id",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
    Index("requests_status_idx", "status", "request_id"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("quote_id", Text, primary_key=True),
    Column("request_id", Text, ForeignKey("requests.request_id"), nullable=False),
    Column("loan_id", Text, nullable=False),
    Column("plan_type", Text, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("quote", JSONB, nullable=True),
    Column("total_cost_minor", BigInteger, nullable=True),
    Column("effective_annual_cost", Numeric, nullable=True),
    Column("expires_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("quotes_request_idx", "request_id"),
)

offers = Table(
    "offers",
    metadata,
    Column("offer_id", Text, primary_key=True),
    Column("loan_id", Text, nullable=False),
    Column("quote_id", Text, ForeignKey("quotes.quote_id"), nullable=True),
    Column("plan_type", Text, nullable=False),
    Column("quote", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("made_by", Text, nullable=False),
    Column("needs_approval", Boolean, nullable=False, server_default="false"),
    Column("approved_by", Text, nullable=True),
    Column("expires_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_id", Text, nullable=True),
    Column("forgiven_minor", BigInteger, nullable=False, server_default="0"),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("approved_by IS NULL OR approved_by <> made_by", name="offers_four_eyes"),
    Index("offers_status_idx", "status", "offer_id"),
    Index("offers_loan_idx", "loan_id"),
)

plans = Table(
    "plans",
    metadata,
    Column("plan_id", Text, primary_key=True),
    Column("loan_id", Text, nullable=False),
    Column("offer_id", Text, ForeignKey("offers.offer_id"), nullable=False, unique=True),
    Column("plan_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("schedule", JSONB, nullable=False),
    Column("accepted_on", Date, nullable=False),
    Column("activated_on", Date, nullable=True),
    Column("closed_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("broken_seq", Integer, nullable=True),
    Index(
        "plans_one_open_per_loan",
        "loan_id",
        unique=True,
        postgresql_where=text("status IN ('accepted', 'active')"),
    ),
    Index("plans_status_idx", "status", "plan_id"),
)

audit_trail = Table(
    "audit_trail",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("subject_kind", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("loan_id", Text, nullable=False),
    Column("step", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("audit_trail_subject_idx", "subject_kind", "subject_id", "id"),
)

promises = Table(
    "promises",
    metadata,
    Column("promise_id", Text, primary_key=True),
    Column("loan_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("promised_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("matched_minor", BigInteger, nullable=False, server_default="0"),
    Column("resolved_on", Date, nullable=True),
    Index("promises_loan_idx", "loan_id", "made_on"),
)

forbearance = Table(
    "forbearance",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("forborne_on", Date, nullable=False),
    Column("cure_ends_on", Date, nullable=True),
    Column("probation_starts_on", Date, nullable=True),
    Column("probation_ends_on", Date, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
