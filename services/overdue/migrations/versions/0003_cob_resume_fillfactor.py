"""close of business in committed chunks: the run's resume cursor; room on the loans'
pages for in-place (HOT) updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cob_runs", sa.Column("resume_after", sa.Text(), nullable=True))
    op.execute("ALTER TABLE loans SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE loans RESET (fillfactor)")
    op.drop_column("cob_runs", "resume_after")
