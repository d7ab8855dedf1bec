"""The overdue service keeps the documented shape (docs/service-shape.md): its service layer
writes no SQL and never touches a session, its views never import the service layer, and
its API defines no request or response model of its own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "overdue"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_service_layer_has_no_sql_and_no_session() -> None:
    for path in sorted((PACKAGE / "service_layer").glob("*.py")):
        source = path.read_text()
        imported = _imports(path)
        assert not {m for m in imported if m.split(".")[0] in {"sqlalchemy", "asyncpg"}}, path.name
        assert "text(" not in source, path.name
        assert "uow.session" not in source and ".session." not in source, path.name


def test_views_do_not_import_the_service_layer() -> None:
    assert not {m for m in _imports(PACKAGE / "views.py") if m.startswith("overdue.service_layer")}


def test_api_models_live_in_schemas() -> None:
    tree = ast.parse((PACKAGE / "entrypoints" / "api.py").read_text())
    models = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", None) == "BaseModel" for b in node.bases)
    ]
    assert models == []


def test_handlers_are_named_after_the_fact_they_apply() -> None:
    from overdue.entrypoints.consumers import HANDLERS

    for model, handler in HANDLERS.items():
        assert handler.__name__.startswith("on_"), (model.__name__, handler.__name__)
