"""loan versions: one sequence stamps every balance-carrying event of every loan

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("CREATE SEQUENCE loan_versions")


def downgrade() -> None:
    op.execute("DROP SEQUENCE loan_versions")
