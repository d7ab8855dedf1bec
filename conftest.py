"""Marks every test by where it lives: unit/, integration/ or e2e/.

``pytest -m unit`` needs neither Kafka nor PostgreSQL; ``-m integration`` and ``-m e2e``
need the servers ``scripts/infra`` starts (``scripts/test.sh`` starts them).
"""

from __future__ import annotations

import os

import pytest

# The suites run on a development machine: the kit's development JWT secret is allowed
# (outside development mode a service refuses it; see lendkit.settings).
for _prefix in ("SERVICE", "LEDGER", "OVERDUE", "NOTIFIER", "RESTRUCTURE"):
    os.environ.setdefault(f"{_prefix}_DEVELOPMENT_MODE", "true")

_KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for kind in _KINDS:
            if kind in parts:
                item.add_marker(getattr(pytest.mark, kind))
                break
        else:
            raise pytest.UsageError(f"{item.nodeid}: tests live under unit/, integration/ or e2e/")
