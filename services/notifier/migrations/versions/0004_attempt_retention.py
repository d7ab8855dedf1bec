"""contact_attempts: the retention purge is the one DELETE the append-only record allows;
send_queue (queued attempts, so the dispatcher does not scan the history)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

UPDATE and TRUNCATE stay refused for every statement. DELETE is checked per row: refused
unless the transaction set ``notifier.retention_cutoff`` (``notifier.adapters.retention``)
to a moment not in the future, and refused for any row recorded at or after that cutoff.
An index on ``recorded_at`` serves the purge and the ops windows.

``send_queue`` holds the attempts whose latest row is ``queued``; existing ones are copied in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETENTION_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION contact_attempts_retention_only() RETURNS trigger AS $$
DECLARE
    cutoff text := current_setting('notifier.retention_cutoff', true);
BEGIN
    IF cutoff IS NULL OR cutoff = '' THEN
        RAISE EXCEPTION 'contact_attempts is append-only: DELETE refused (only the retention purge deletes)'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF cutoff::timestamptz > now() THEN
        RAISE EXCEPTION 'contact_attempts: a retention cutoff in the future (%) is refused', cutoff
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.recorded_at >= cutoff::timestamptz THEN
        RAISE EXCEPTION 'contact_attempts: row % is within its retention', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS contact_attempts_append_only ON contact_attempts")
    op.execute(
        "CREATE TRIGGER contact_attempts_append_only BEFORE UPDATE OR TRUNCATE ON contact_attempts "
        "FOR EACH STATEMENT EXECUTE FUNCTION contact_attempts_append_only()"
    )
    op.execute(RETENTION_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER contact_attempts_retention_only BEFORE DELETE ON contact_attempts "
        "FOR EACH ROW EXECUTE FUNCTION contact_attempts_retention_only()"
    )
    op.create_index("contact_attempts_recorded", "contact_attempts", ["recorded_at"])
    op.create_table(
        "send_queue",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("attempt_id", sa.Text, primary_key=True),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(
        "INSERT INTO send_queue (attempt_id) SELECT attempt_id FROM ("
        " SELECT DISTINCT ON (attempt_id) attempt_id, state, id FROM contact_attempts"
        " ORDER BY attempt_id, id DESC) latest WHERE state = 'queued' ORDER BY id"
    )


def downgrade() -> None:
    op.drop_table("send_queue")
    op.drop_index("contact_attempts_recorded", table_name="contact_attempts")
    op.execute("DROP TRIGGER IF EXISTS contact_attempts_retention_only ON contact_attempts")
    op.execute("DROP FUNCTION IF EXISTS contact_attempts_retention_only()")
    op.execute("DROP TRIGGER IF EXISTS contact_attempts_append_only ON contact_attempts")
    op.execute(
        "CREATE TRIGGER contact_attempts_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON contact_attempts FOR EACH STATEMENT EXECUTE FUNCTION contact_attempts_append_only()"
    )
