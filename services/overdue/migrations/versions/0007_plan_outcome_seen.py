"""loans.plan_outcome_seen: the last plan whose outcome was applied, so that its
acceptance arriving later (another topic) does not pause the loan again

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("loans", sa.Column("plan_outcome_seen", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("loans", "plan_outcome_seen")
