"""Moved to :mod:`lendkit.outbox.writer` (the one outbox writer); kept for old imports."""

from lendkit.outbox.writer import outbox_insert_select, outbox_params

__all__ = ["outbox_insert_select", "outbox_params"]
