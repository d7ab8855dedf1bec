"""The platform's published contracts: topics and every event payload model.

Importing this package registers every event type in ``lendkit.events.CATALOGUE``.
"""

from lendkit.contracts import ledger, notifier, overdue, restructure, topics

__all__ = ["ledger", "notifier", "overdue", "restructure", "topics"]
