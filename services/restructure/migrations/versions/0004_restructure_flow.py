"""restructure flow: product terms, loan read model facts (versions, balances by
component, payments), business days seen, offer and plan details

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TERMS = ("schedule_type", "frequency", "day_count", "rounding")


def upgrade() -> None:
    for name in _TERMS:
        op.add_column("products", sa.Column(name, sa.Text(), nullable=True))
        op.alter_column("loans", name, existing_type=sa.Text(), nullable=True)
    op.add_column("loans", sa.Column("disbursed_on", sa.Date(), nullable=True))
    op.add_column("loans", sa.Column("ledger_version", sa.Integer(), nullable=True))
    op.add_column(
        "loans", sa.Column("schedule_version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column(
        "loan_instalments",
        sa.Column("penalty_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column(
        "loan_instalments",
        sa.Column("fee_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "loan_payments",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.Boolean(), nullable=False, server_default="false"),
        sa.PrimaryKeyConstraint("loan_id", "payment_id"),
    )
    op.create_table(
        "business_day_markers",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("partitions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "partition"),
    )
    op.create_table(
        "business_days",
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column(
            "reviewed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )
    op.add_column("offers", sa.Column("request_id", sa.Text(), nullable=True))
    op.add_column(
        "offers", sa.Column("forgiven_minor", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.add_column("offers", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("plans", sa.Column("broken_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("plans", "broken_seq")
    for name in ("approved_at", "forgiven_minor", "request_id"):
        op.drop_column("offers", name)
    for table in ("business_days", "business_day_markers", "loan_payments"):
        op.drop_table(table)
    for name in ("fee_minor", "penalty_minor"):
        op.drop_column("loan_instalments", name)
    for name in ("schedule_version", "ledger_version", "disbursed_on"):
        op.drop_column("loans", name)
    for name in _TERMS:
        op.execute(sa.text(f"UPDATE loans SET {name} = '' WHERE {name} IS NULL"))
        op.alter_column("loans", name, existing_type=sa.Text(), nullable=False)
        op.drop_column("products", name)
