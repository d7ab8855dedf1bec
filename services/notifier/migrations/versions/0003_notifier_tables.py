"""notifier tables: contact profiles and channels, the append-only contact-attempt record,
loans (loan -> borrower), deferred sends

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

The tables are defined here as they were at this revision (not imported from the service),
so later changes to ``notifier.adapters.tables`` need their own revision.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

metadata = MetaData()

contact_profiles = Table(
    "contact_profiles",
    metadata,
    Column("borrower_id", Text, primary_key=True),
    Column("language", Text, nullable=False, server_default="zh-CN"),
    Column("timezone", Text, nullable=True),
    Column("jurisdiction", Text, nullable=False, server_default="other"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

contact_channels = Table(
    "contact_channels",
    metadata,
    Column(
        "borrower_id",
        Text,
        ForeignKey("contact_profiles.borrower_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("channel", Text, primary_key=True),
    Column("address", Text, nullable=False),
    Column("address_id", Text, nullable=False, unique=True),
    Column("priority", Integer, nullable=False, server_default="100"),
    Column("opted_out", Boolean, nullable=False, server_default="false"),
    Column("opted_out_at", DateTime(timezone=True), nullable=True),
)

contact_attempts = Table(
    "contact_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("attempt_id", Text, nullable=False),
    Column("trigger_key", Text, nullable=False),
    Column("borrower_id", Text, nullable=False),
    Column("loan_id", Text, nullable=True),
    Column("purpose", Text, nullable=False),
    Column("mandatory", Boolean, nullable=False, server_default="false"),
    Column("state", Text, nullable=False),
    Column("channel", Text, nullable=True),
    Column("address_id", Text, nullable=True),
    Column("rule", Text, nullable=True),
    Column("reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("context", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("until", DateTime(timezone=True), nullable=True),
    Column("template", Text, nullable=True),
    Column("template_version", Text, nullable=True),
    Column("provider", Text, nullable=True),
    Column("call_outcome", Text, nullable=True),
    Column("automated", Boolean, nullable=False, server_default="false"),
    Column("borrower_initiated", Boolean, nullable=False, server_default="false"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "contact_attempts_trigger_key",
        "trigger_key",
        unique=True,
        postgresql_where=text("state = 'decided'"),
    ),
    Index("contact_attempts_attempt", "attempt_id", "id"),
    Index("contact_attempts_borrower", "borrower_id", "recorded_at"),
    Index("contact_attempts_loan", "loan_id", "recorded_at"),
)

products = Table(
    "products",
    metadata,
    Column("product_code", Text, primary_key=True),
    Column("penalty_daily_rate", Text, nullable=False),
    Column("credit_report_notice_dpd", Integer, nullable=False),
    Column("notification_policy", JSONB, nullable=False),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", Text, primary_key=True),
    Column("borrower_id", Text, nullable=False, index=True),
    Column("product_code", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("timezone", Text, nullable=True),
)

deferred_sends = Table(
    "deferred_sends",
    metadata,
    Column("attempt_id", Text, primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("deferred_sends_due", "due_at"),
)

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION contact_attempts_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'contact_attempts is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""

APPEND_ONLY_TRIGGER = """
CREATE TRIGGER contact_attempts_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON contact_attempts
FOR EACH STATEMENT EXECUTE FUNCTION contact_attempts_append_only()
"""


_TABLES = [contact_profiles, contact_channels, contact_attempts, products, loans, deferred_sends]


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=_TABLES)
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS contact_attempts_append_only ON contact_attempts")
    op.execute("DROP FUNCTION IF EXISTS contact_attempts_append_only()")
    metadata.drop_all(op.get_bind(), tables=list(reversed(_TABLES)))
