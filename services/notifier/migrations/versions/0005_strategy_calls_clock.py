"""notifier: contact strategies (versioned), loan stages, the simulated clock, and the moment a
call outcome happened on the notifier's clock

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The tables are defined here as they were at this revision (not imported from the service).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Table, Text, Time, func
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

metadata = MetaData()

contact_strategies = Table(
    "contact_strategies",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("spec", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

loan_stages = Table(
    "loan_stages",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("stage", Text, nullable=False),
    Column("changed_on", Date, nullable=False),
)

notifier_clock = Table(
    "notifier_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("simulated", Boolean, nullable=False, server_default="false"),
    Column("business_date", Date, nullable=True),
    Column("time_of_day", Time, nullable=True),
    Column("timezone", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    sa.CheckConstraint("id = 1", name="notifier_clock_one_row"),
)

_TABLES = [contact_strategies, loan_stages, notifier_clock]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=_TABLES)
    op.add_column("contact_attempts", Column("occurred_at", DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("contact_attempts", "occurred_at")
    metadata.drop_all(op.get_bind(), tables=list(reversed(_TABLES)))
