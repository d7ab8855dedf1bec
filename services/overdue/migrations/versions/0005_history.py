"""waivers spread by instalment and confirmed by the ledger; each closed day's record of
the loans past due (loan_days); the ledger's loan_version last applied

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loans", sa.Column("ledger_version", sa.BigInteger(), nullable=True))
    op.create_table(
        "loan_days",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("overdue_principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("overdue_interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("overdue_penalty_minor", sa.BigInteger(), nullable=False),
        sa.Column("overdue_fee_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "business_date"),
    )
    op.add_column("penalty_waivers", sa.Column("event_id", sa.Text(), nullable=True))
    op.add_column("penalty_waivers", sa.Column("booked_minor", sa.BigInteger(), nullable=True))
    op.create_unique_constraint("penalty_waivers_event_id_key", "penalty_waivers", ["event_id"])


def downgrade() -> None:
    op.drop_table("loan_days")
    op.drop_constraint("penalty_waivers_event_id_key", "penalty_waivers")
    op.drop_column("penalty_waivers", "booked_minor")
    op.drop_column("penalty_waivers", "event_id")
    op.drop_column("loans", "ledger_version")
