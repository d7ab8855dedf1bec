"""kit tables: parked keys, the outbox quarantine, retention indexes (lendkit revision 2)

Revision ID: 0004_kit
Revises: 0003
Create Date: 2026-12-01
"""

from lendkit.migrations import downgrade_kit_reliability as downgrade
from lendkit.migrations import upgrade_kit_reliability as upgrade

revision = "0004_kit"
down_revision = "0003"
__all__ = ["downgrade", "upgrade"]
