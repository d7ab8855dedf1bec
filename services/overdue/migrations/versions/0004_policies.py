"""loans blocked by close of business while their product has no valid overdue policy

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocked_loan_days",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "loan_id"),
    )


def downgrade() -> None:
    op.drop_table("blocked_loan_days")
