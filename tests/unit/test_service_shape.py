"""Every service keeps the one shape of docs/service-shape.md, where a machine can check it:

- ``service_layer/`` imports no database driver (SQLAlchemy, asyncpg), writes no SQL text
  and never reaches into a session: set-based SQL lives in adapters;
- ``domain/`` does no I/O and imports neither adapters, service layer nor entrypoints;
- ``views.py`` never imports the service layer (the read side does not sit on the write side);
- ``entrypoints/api.py`` defines no request or response model (they live in ``schemas.py``);
- handler tables are keyed by contract class, and handlers are named ``on_<fact>``;
- no service defines its own refusal base classes (``lendkit.errors`` has them).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from lendkit.events.catalogue import EventPayload

SERVICES = Path(__file__).resolve().parents[2] / "services"
NAMES = ("ledger", "overdue", "notifier", "restructure")
SQL = re.compile(r"\b(SELECT .+ FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|jsonb_build_object)\b")
DRIVERS = {"sqlalchemy", "asyncpg"}


def _package(name: str) -> Path:
    return SERVICES / name / name


def _modules(name: str, part: str) -> list[Path]:
    return sorted((_package(name) / part).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _code_strings(path: Path) -> list[str]:
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


@pytest.mark.parametrize("name", NAMES)
def test_the_service_layer_imports_no_driver_and_writes_no_sql(name: str) -> None:
    for path in _modules(name, "service_layer"):
        drivers = {m for m in _imports(path) if m.split(".")[0] in DRIVERS}
        assert not drivers, f"{name}: {path.name} imports {drivers}"
        source = path.read_text()
        assert "text(" not in source, f"{name}: {path.name} writes SQL text"
        assert "uow.session" not in source, f"{name}: {path.name} reaches into the session"
        assert not [s for s in _code_strings(path) if SQL.search(s)], f"{name}: {path.name}"


@pytest.mark.parametrize("name", NAMES)
def test_the_domain_does_no_io(name: str) -> None:
    layers = tuple(f"{name}.{layer}" for layer in ("adapters", "service_layer", "entrypoints"))
    for path in _modules(name, "domain"):
        bad = {
            m
            for m in _imports(path)
            if m.split(".")[0] in DRIVERS | {"aiokafka", "fastapi", "httpx"} or m.startswith(layers)
        }
        assert not bad, f"{name}: {path.name} imports {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_views_never_import_the_service_layer(name: str) -> None:
    views = _package(name) / "views.py"
    if views.exists():
        assert not {m for m in _imports(views) if m.startswith(f"{name}.service_layer")}


@pytest.mark.parametrize("name", NAMES)
def test_api_models_live_in_schemas(name: str) -> None:
    api = _package(name) / "entrypoints" / "api.py"
    if not api.exists():
        return
    tree = ast.parse(api.read_text())
    models = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(base, "id", None) == "BaseModel" for base in node.bases)
    ]
    assert models == [], f"{name}: models in api.py: {models}"


@pytest.mark.parametrize("name", NAMES)
def test_handler_tables_are_keyed_by_contract_and_name_the_fact(name: str) -> None:
    consumers = _package(name) / "entrypoints" / "consumers.py"
    if not consumers.exists():
        return
    module = importlib.import_module(f"{name}.entrypoints.consumers")
    spec = module.CONSUMERS
    for model, handler in spec.handlers.items():
        assert isinstance(model, type) and issubclass(model, EventPayload), model
        function = getattr(handler, "many", handler)
        assert function.__name__.startswith("on_"), (name, model.__name__, function.__name__)


@pytest.mark.parametrize("name", NAMES)
def test_no_service_defines_its_own_refusal_bases(name: str) -> None:
    assert not (_package(name) / "service_layer" / "errors.py").exists()
