"""ledger tables: products, loans, schedule versions, instalments, payments, allocations,
charges, double-entry journal, close-of-business runs

Frozen from ledger.adapters.tables as it stood at this revision (later changes to the tables
get revisions of their own).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "cob_runs",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("upcoming", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due", sa.Integer(), server_default="0", nullable=False),
        sa.Column("interest_recognised", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("business_date"),
    )
    op.create_table(
        "products",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("annual_rate", sa.Text(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("schedule_type", sa.Text(), nullable=False),
        sa.Column("day_count", sa.Text(), nullable=False),
        sa.Column("rounding", sa.Text(), nullable=False),
        sa.Column("allocation_strategy", sa.Text(), nullable=False),
        sa.Column("allocation_components", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("reminder_days_before", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("overdue_policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("notification_policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("restructure_policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "loans",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.Text(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("timezone", sa.Text(), server_default="Asia/Shanghai", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("credit_balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["product_code"],
            ["products.code"],
        ),
        sa.PrimaryKeyConstraint("loan_id"),
    )
    op.create_index("ix_loans_borrower", "loans", ["borrower_id", "loan_id"], unique=False)
    op.create_index("ix_loans_status", "loans", ["status", "loan_id"], unique=False)
    op.create_table(
        "allocations",
        sa.Column("allocation_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.loan_id"],
        ),
        sa.PrimaryKeyConstraint("allocation_id"),
        sa.UniqueConstraint("loan_id", "source_kind", "source_id", "version"),
    )
    op.create_index(
        "ix_allocations_current",
        "allocations",
        ["loan_id"],
        unique=False,
        postgresql_where="current",
    )
    op.create_table(
        "charges",
        sa.Column("charge_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("source_event_id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.loan_id"],
        ),
        sa.PrimaryKeyConstraint("charge_id"),
        sa.UniqueConstraint("source_event_id"),
    )
    op.create_index("ix_charges_loan", "charges", ["loan_id"], unique=False)
    op.create_table(
        "journal_entries",
        sa.Column("entry_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("entry_no", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.loan_id"],
        ),
        sa.PrimaryKeyConstraint("entry_id"),
        sa.UniqueConstraint("entry_no"),
    )
    op.create_index(
        "ix_journal_entries_loan", "journal_entries", ["loan_id", "entry_no"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("external_reference", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_order", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("reversed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("reversal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.loan_id"],
        ),
        sa.PrimaryKeyConstraint("payment_id"),
        sa.UniqueConstraint("loan_id", "external_reference", name="uq_payments_loan_reference"),
    )
    op.create_index("ix_payments_loan", "payments", ["loan_id", "value_date"], unique=False)
    op.create_table(
        "schedule_versions",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("annual_rate", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.loan_id"],
        ),
        sa.PrimaryKeyConstraint("loan_id", "version"),
    )
    op.create_table(
        "allocation_lines",
        sa.Column("allocation_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.allocation_id"],
        ),
        sa.PrimaryKeyConstraint("allocation_id", "line_no"),
    )
    op.create_table(
        "instalments",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_principal", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_interest", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_penalty", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("outstanding_fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("interest_recognised", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id", "version"],
            ["schedule_versions.loan_id", "schedule_versions.version"],
        ),
        sa.PrimaryKeyConstraint("loan_id", "version", "seq"),
    )
    op.create_index("ix_instalments_due_date", "instalments", ["due_date", "loan_id"], unique=False)
    op.create_table(
        "journal_lines",
        sa.Column("entry_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.entry_id"],
        ),
        sa.PrimaryKeyConstraint("entry_id", "line_no"),
    )
    op.create_index(
        "ix_journal_lines_loan_account", "journal_lines", ["loan_id", "account"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_journal_lines_loan_account", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index("ix_instalments_due_date", table_name="instalments")
    op.drop_table("instalments")
    op.drop_table("allocation_lines")
    op.drop_table("schedule_versions")
    op.drop_index("ix_payments_loan", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_journal_entries_loan", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_index("ix_charges_loan", table_name="charges")
    op.drop_table("charges")
    op.drop_index("ix_allocations_current", table_name="allocations", postgresql_where="current")
    op.drop_table("allocations")
    op.drop_index("ix_loans_status", table_name="loans")
    op.drop_index("ix_loans_borrower", table_name="loans")
    op.drop_table("loans")
    op.drop_table("products")
    op.drop_table("cob_runs")
