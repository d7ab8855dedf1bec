"""The overdue database's own tables (the kit's outbox and processed-event tables come from lendkit)."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
