"""kit tables: parked keys, the outbox quarantine, retention indexes (lendkit revision 2)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from lendkit.migrations import downgrade_kit_reliability as downgrade
from lendkit.migrations import upgrade_kit_reliability as upgrade

revision = "0002"
down_revision = "0001"
__all__ = ["downgrade", "upgrade"]
