"""Marks every test by where it lives: unit/, integration/ or e2e/.

``pytest -m unit`` needs neither Kafka nor PostgreSQL; ``-m integration`` and ``-m e2e``
need the servers ``scripts/infra`` starts (``scripts/test.sh`` starts them).
"""

from __future__ import annotations

import pytest

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
