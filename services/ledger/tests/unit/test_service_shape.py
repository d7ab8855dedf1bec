"""The ledger keeps the service shape (docs/service-shape.md) where a machine can check it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|jsonb_build_object)\b")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _strings(path: Path) -> list[str]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_service_layer_neither_imports_a_database_driver_nor_writes_sql() -> None:
    for path in sorted((LEDGER / "service_layer").glob("*.py")):
        drivers = {m for m in _imports(path) if m.split(".")[0] in {"sqlalchemy", "asyncpg"}}
        assert not drivers, f"{path.name} imports {drivers}"
        assert not [s for s in _strings(path) if SQL.search(s)], f"{path.name} writes SQL"


def test_the_domain_does_no_io() -> None:
    for path in sorted((LEDGER / "domain").glob("*.py")):
        bad = {
            m
            for m in _imports(path)
            if m.split(".")[0] in {"sqlalchemy", "asyncpg", "aiokafka", "fastapi"}
            or m.startswith(("ledger.adapters", "ledger.service_layer", "ledger.entrypoints"))
        }
        assert not bad, f"{path.name} imports {bad}"


def test_views_never_import_the_service_layer() -> None:
    assert not {m for m in _imports(LEDGER / "views.py") if m.startswith("ledger.service_layer")}


def test_the_service_layer_defines_no_errors_of_its_own() -> None:
    assert not (LEDGER / "service_layer" / "errors.py").exists()
