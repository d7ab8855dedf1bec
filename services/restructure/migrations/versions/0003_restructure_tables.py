"""restructure tables: products, loan read model, requests, quotes, offers, plans, audit
trail, promises, forbearance

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("restructure_policy", JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_table(
        "loans",
        sa.Column("loan_id", sa.Text(), primary_key=True),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("annual_rate", sa.Numeric(), nullable=False),
        sa.Column("schedule_type", sa.Text(), nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("day_count", sa.Text(), nullable=False),
        sa.Column("rounding", sa.Text(), nullable=False),
        sa.Column("penalty_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("dpd", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("charged_off", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("payments_made", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("loans_borrower_idx", "loans", ["borrower_id"])
    op.create_table(
        "loan_instalments",
        sa.Column(
            "loan_id",
            sa.Text(),
            sa.ForeignKey("loans.loan_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "seq"),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index(
        "requests_one_pending_per_loan",
        "requests",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("requests_status_idx", "requests", ["status", "request_id"])
    op.create_table(
        "quotes",
        sa.Column("quote_id", sa.Text(), primary_key=True),
        sa.Column("request_id", sa.Text(), sa.ForeignKey("requests.request_id"), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("plan_type", sa.Text(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("quote", JSONB(), nullable=True),
        sa.Column("total_cost_minor", sa.BigInteger(), nullable=True),
        sa.Column("effective_annual_cost", sa.Numeric(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("quotes_request_idx", "quotes", ["request_id"])
    op.create_table(
        "offers",
        sa.Column("offer_id", sa.Text(), primary_key=True),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("quote_id", sa.Text(), sa.ForeignKey("quotes.quote_id"), nullable=True),
        sa.Column("plan_type", sa.Text(), nullable=False),
        sa.Column("quote", JSONB(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("made_by", sa.Text(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> made_by", name="offers_four_eyes"
        ),
    )
    op.create_index("offers_status_idx", "offers", ["status", "offer_id"])
    op.create_index("offers_loan_idx", "offers", ["loan_id"])
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Text(), primary_key=True),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column(
            "offer_id", sa.Text(), sa.ForeignKey("offers.offer_id"), nullable=False, unique=True
        ),
        sa.Column("plan_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("schedule", JSONB(), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("activated_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index(
        "plans_one_open_per_loan",
        "plans",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('accepted', 'active')"),
    )
    op.create_index("plans_status_idx", "plans", ["status", "plan_id"])
    op.create_table(
        "audit_trail",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("subject_kind", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("detail", JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("audit_trail_subject_idx", "audit_trail", ["subject_kind", "subject_id", "id"])
    op.create_table(
        "promises",
        sa.Column("promise_id", sa.Text(), primary_key=True),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="open"),
        sa.Column("matched_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("resolved_on", sa.Date(), nullable=True),
    )
    op.create_index("promises_loan_idx", "promises", ["loan_id", "made_on"])
    op.create_table(
        "forbearance",
        sa.Column("loan_id", sa.Text(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("forborne_on", sa.Date(), nullable=False),
        sa.Column("cure_ends_on", sa.Date(), nullable=True),
        sa.Column("probation_starts_on", sa.Date(), nullable=True),
        sa.Column("probation_ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )


def downgrade() -> None:
    for table in (
        "forbearance",
        "promises",
        "audit_trail",
        "plans",
        "offers",
        "quotes",
        "requests",
        "loan_instalments",
        "loans",
        "products",
    ):
        op.drop_table(table)
