"""kit tables: parked keys, the outbox quarantine, retention indexes (lendkit revision 2)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from lendkit.migrations import downgrade_kit_reliability as downgrade
from lendkit.migrations import upgrade_kit_reliability as upgrade

revision = "0006"
down_revision = "0005"
__all__ = ["downgrade", "upgrade"]
