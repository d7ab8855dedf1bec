"""room on the instalments' pages for in-place (HOT) updates of outstanding amounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("ALTER TABLE instalments SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE instalments RESET (fillfactor)")
