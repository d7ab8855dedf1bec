"""notifier tables: contact profiles and channels, the append-only contact-attempt record,
deferred sends

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from notifier.adapters.tables import (
    APPEND_ONLY_FUNCTION,
    APPEND_ONLY_TRIGGER,
    contact_attempts,
    contact_channels,
    contact_profiles,
    deferred_sends,
    loans,
    metadata,
)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = [contact_profiles, contact_channels, contact_attempts, loans, deferred_sends]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=_TABLES)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS contact_attempts_append_only ON contact_attempts")
    op.execute("DROP FUNCTION IF EXISTS contact_attempts_append_only()")
    metadata.drop_all(op.get_bind(), tables=list(reversed(_TABLES)))
