"""Moved to :mod:`lendkit.outbox.writer` (the one outbox writer) and :mod:`lendkit.db`
(``driver_connection``); kept for old imports."""

from lendkit.db import driver_connection
from lendkit.outbox.writer import PrebuiltEvent, prebuilt, write_prebuilt_events

__all__ = ["PrebuiltEvent", "driver_connection", "prebuilt", "write_prebuilt_events"]
