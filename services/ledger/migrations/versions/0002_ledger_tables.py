"""ledger tables: products, loans, schedule versions, instalments, payments, allocations,
charges, double-entry journal, close-of-business runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from ledger.adapters.tables import LEDGER_TABLES, metadata

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=list(LEDGER_TABLES))


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=list(LEDGER_TABLES))
