"""schedule_versions.reference: the event a plan's booking came from

The charges and journal entries a plan's booking made carry that event id (charges as a
prefix of ``source_event_id``, entries as ``reference``), so restoring the original terms
when the plan breaks can reverse exactly them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("schedule_versions", sa.Column("reference", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("schedule_versions", "reference")
