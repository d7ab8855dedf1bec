"""The kit's tables (outbox, processed events, idempotency keys), the same in every service."""

from lendkit.migrations import create_kit_tables as upgrade
from lendkit.migrations import drop_kit_tables as downgrade

revision = "0001"
down_revision = None
__all__ = ["downgrade", "upgrade"]
