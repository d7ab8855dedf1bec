"""The notifier database's own tables (the kit's outbox and processed-event tables come from lendkit).

Personal data (addresses) lives only here, in ``contact_channels``; everything else, and
every event, log line and metric label, carries ids.

- ``contact_profiles``: one row per borrower: language (zh-CN, en), IANA timezone (NULL when
  unknown: the policy then uses the window allowed in every candidate zone), jurisdiction.
- ``contact_channels``: the borrower's channels (push, sms, email, call) with their address,
  an opaque ``address_id`` used in decisions and events, a priority and the opt-out state.
- ``contact_attempts``: the append-only contact-attempt record. Each state change of an
  attempt (decided, deferred, sent, delivered, failed, suppressed, undeliverable) is a new
  row with its decision, rule and reasons; a trigger refuses UPDATE and TRUNCATE, and DELETE
  except the retention purge of rows older than the retention (migration 0004,
  ``adapters/retention.py``). ``trigger_key``
  is unique for the first row of an attempt (state ``decided``), so the same trigger twice
  gives one attempt.
- ``products``: each product's penalty rate and credit-report DPD (for the reminders' line on
  what a missed payment costs) and its notification policy (the contact rules), as the ledger
  published them.
- ``loans``: which borrower each loan belongs to (from ``ledger.loan.disbursed``), so facts
  that carry only the loan id reach the right person.
- ``send_queue``: attempts whose latest state is ``queued`` (written with that row, removed
  with the row that settles the attempt), so the dispatcher finds its work without
  scanning the history; like ``deferred_sends`` it is a queue, not history.
- ``contact_strategies``: the per-stage contact strategy, one row per version (whole spec).
- ``loan_stages``: each loan's collection stage (from ``overdue.loan.stage_changed``), to pick
  the stage's strategy; the business day of its last cadence reminder (``reminded_on``) and
  whether its delinquency is paused (``overdue.loan.delinquency_paused`` / ``resumed``).
- ``notifier_clock``: one row: the simulated clock (business date, time of day, timezone).
- ``contact_attempts.occurred_at``: when a call outcome happened on the notifier's clock (the
  simulator's time), which the call caps count; ``recorded_at`` stays the database's time.
- ``deferred_sends``: sends deferred by quiet hours, persisted until due (and dispatched by
  a loop that survives restarts); a row is removed once its attempt moves on.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

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
    Column("occurred_at", DateTime(timezone=True), nullable=True),
    Index(
        "contact_attempts_trigger_key",
        "trigger_key",
        unique=True,
        postgresql_where=text("state = 'decided'"),
    ),
    Index("contact_attempts_attempt", "attempt_id", "id"),
    Index("contact_attempts_borrower", "borrower_id", "recorded_at"),
    Index("contact_attempts_loan", "loan_id", "recorded_at"),
    Index("contact_attempts_recorded", "recorded_at"),
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

send_queue = Table(
    "send_queue",
    metadata,
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("attempt_id", Text, primary_key=True),
    Column("queued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
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
    Column("reminded_on", Date, nullable=True),
    Column("paused", Boolean, nullable=False, server_default="false"),
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
    CheckConstraint("id = 1", name="notifier_clock_one_row"),
)
