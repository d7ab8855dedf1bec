"""The platform's published contracts: topics and every event payload model.

Importing this package registers every event type in ``lendkit.events.CATALOGUE``.
"""

from lendkit.contracts import topics

__all__ = ["topics"]
