"""notifier: a stage's repeating cadence: the business day of a loan's last cadence reminder
and whether its delinquency is paused

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Boolean, Column, Date

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loan_stages", Column("reminded_on", Date, nullable=True))
    op.add_column("loan_stages", Column("paused", Boolean, nullable=False, server_default="false"))


def downgrade() -> None:
    op.drop_column("loan_stages", "paused")
    op.drop_column("loan_stages", "reminded_on")
