"""overdue tables: products, loans read model, instalments, penalty days and waivers,
bucket/stage history, close-of-business markers and runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:45:30.939463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bucket_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("from_bucket", sa.Text(), nullable=False),
        sa.Column("to_bucket", sa.Text(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_bucket_history_loan_date", "bucket_history", ["loan_id", "business_date"], unique=False
    )
    op.create_table(
        "cob_runs",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("loans_examined", sa.Integer(), server_default="0", nullable=False),
        sa.Column("events_emitted", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("business_date"),
    )
    op.create_table(
        "day_markers",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("business_date", "partition"),
    )
    op.create_table(
        "loans",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=True),
        sa.Column("bucket", sa.Text(), server_default="current", nullable=False),
        sa.Column("stage", sa.Text(), server_default="current", nullable=False),
        sa.Column("in_arrears", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("charge_off_candidate", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("last_accrued_on", sa.Date(), nullable=True),
        sa.Column("cumulative_exact", sa.Numeric(), server_default="0", nullable=False),
        sa.Column("assessed_to_date_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("waived_to_date_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fees_charged_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("gate_status", sa.Text(), server_default="not_due", nullable=False),
        sa.Column("notice_due_on", sa.Date(), nullable=True),
        sa.Column("notice_delivered_on", sa.Date(), nullable=True),
        sa.Column("reportable_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("loan_id"),
    )
    op.create_index("ix_loans_borrower", "loans", ["borrower_id"], unique=False)
    op.create_index("ix_loans_bucket_loan", "loans", ["bucket", "loan_id"], unique=False)
    op.create_index(
        "ix_loans_oldest_unpaid_due_date",
        "loans",
        ["oldest_unpaid_due_date"],
        unique=False,
        postgresql_where=sa.text("oldest_unpaid_due_date IS NOT NULL"),
    )
    op.create_table(
        "penalty_days",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("base_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Numeric(), nullable=False),
        sa.Column("exact", sa.Numeric(), nullable=False),
        sa.Column("booked_minor", sa.BigInteger(), nullable=False),
        sa.Column("forgone_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cap_applied", sa.Text(), nullable=True),
        sa.UniqueConstraint("loan_id", "business_date", name="uq_penalty_days_loan_date"),
    )
    op.create_table(
        "penalty_waivers",
        sa.Column("waiver_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("waived_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("waiver_id"),
    )
    op.create_index(
        op.f("ix_penalty_waivers_loan_id"), "penalty_waivers", ["loan_id"], unique=False
    )
    op.create_table(
        "products",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("overdue_policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "stage_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("from_stage", sa.Text(), nullable=False),
        sa.Column("to_stage", sa.Text(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_stage_history_loan_date", "stage_history", ["loan_id", "business_date"], unique=False
    )
    op.create_table(
        "instalments",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("scheduled_interest_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.loan_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("loan_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("instalments")
    op.drop_index("ix_stage_history_loan_date", table_name="stage_history")
    op.drop_table("stage_history")
    op.drop_table("products")
    op.drop_index(op.f("ix_penalty_waivers_loan_id"), table_name="penalty_waivers")
    op.drop_table("penalty_waivers")
    op.drop_table("penalty_days")
    op.drop_index(
        "ix_loans_oldest_unpaid_due_date",
        table_name="loans",
        postgresql_where=sa.text("oldest_unpaid_due_date IS NOT NULL"),
    )
    op.drop_index("ix_loans_bucket_loan", table_name="loans")
    op.drop_index("ix_loans_borrower", table_name="loans")
    op.drop_table("loans")
    op.drop_table("day_markers")
    op.drop_table("cob_runs")
    op.drop_index("ix_bucket_history_loan_date", table_name="bucket_history")
    op.drop_table("bucket_history")
