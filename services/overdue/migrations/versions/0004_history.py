"""waivers spread by instalment and confirmed by the ledger

Revision ID: 0004_history
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_history"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("penalty_waivers", sa.Column("event_id", sa.Text(), nullable=True))
    op.add_column("penalty_waivers", sa.Column("booked_minor", sa.BigInteger(), nullable=True))
    op.create_unique_constraint("penalty_waivers_event_id_key", "penalty_waivers", ["event_id"])


def downgrade() -> None:
    op.drop_constraint("penalty_waivers_event_id_key", "penalty_waivers")
    op.drop_column("penalty_waivers", "booked_minor")
    op.drop_column("penalty_waivers", "event_id")
