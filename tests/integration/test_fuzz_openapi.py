"""Bad input, everywhere: schemathesis over every service's OpenAPI.

All four services run in-process (``bootstrap.create_app`` on fresh databases, publishing
nothing), each operation is called with a valid token for a role its ``x-roles`` admits
(a borrower's token carries a borrower id), positive and negative examples, and examples
with a seeded loan and borrower in the path (the ledger's loan, the notifier's contact
profile), derandomized.
Every answer must be no 5xx, a documented status, content type and body, and every error
an RFC 9457 problem document (:mod:`lendkit.testing.openapi_contract`).

Bounded: ``FUZZ_EXAMPLES`` examples per operation and generation mode keep the whole run
within about two minutes. Run alone with ``pytest -m fuzz``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.python import asgi

from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique
from lendkit.testing.openapi_contract import SCHEMATHESIS, exercise_operation

pytestmark = pytest.mark.fuzz

SERVICES = ("ledger", "overdue", "notifier", "restructure")
FUZZ_EXAMPLES = 30
FUZZ_BORROWER = "B-FUZZ"
FUZZ_LOAN = "L-FUZZ"


def _create_app(name: str, database_url: str | None = None) -> Any:
    settings_cls = importlib.import_module(f"{name}.settings").Settings
    create_app = importlib.import_module(f"{name}.bootstrap").create_app
    if database_url is None:  # only for reading the OpenAPI document at collection
        return create_app(settings_cls())
    return create_app(
        settings_cls(
            database_url=database_url,
            run_consumers=False,
            run_outbox_relay=False,
            consumer_group=unique(f"{name}-fuzz"),
            **({"run_dispatcher": False} if name == "notifier" else {}),
        )
    )


def _operations() -> list[tuple[str, str, str, tuple[str, ...]]]:
    found = []
    for name in SERVICES:
        for path, item in _create_app(name).openapi()["paths"].items():
            for method, operation in item.items():
                roles = tuple(sorted(operation.get("x-roles", [])))
                found.append((name, path, method, roles))
    return sorted(found)


OPERATIONS = _operations()


def caller_roles(roles: tuple[str, ...]) -> tuple[list[Role], str | None]:
    """The roles of a token the operation admits: its staff roles, or a borrower's."""
    staff = [Role(r) for r in roles if r != Role.BORROWER]
    if staff or not roles:
        return staff or [Role.OPS], None
    return [Role.BORROWER], FUZZ_BORROWER


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, tuple[Any, Any]]]:
    """Each service's schemathesis schema and token issuer, on a fresh database."""

    async def create(name: str) -> str:
        url = await fresh_database(f"{name}_fuzz")
        await asyncio.to_thread(upgrade, name, url)
        return url

    running: dict[str, tuple[Any, Any]] = {}
    try:
        for name in SERVICES:
            app = _create_app(name, asyncio.run(create(name)))
            schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SCHEMATHESIS)
            tokens = app.state.runtime.tokens
            with asgi.get_client(app) as client:
                _seed(name, client, tokens)
            running[name] = (schema, tokens)
        yield running
    finally:
        asgi.shutdown_lifespans()


def _seed(name: str, client: Any, tokens: Any) -> None:
    """What the seeded ids name, so generated requests also reach past the 404s."""
    staff = {"Authorization": f"Bearer {tokens.issue('fuzz-seed', [Role.ADMIN, Role.OPS])}"}
    posts: list[tuple[str, dict[str, Any]]] = []
    if name == "ledger":
        product = {"code": "P-FUZZ", "currency": "CNY", "annual_rate": "0.12", "term": 3}
        loan = {
            "loan_id": FUZZ_LOAN,
            "borrower_id": FUZZ_BORROWER,
            "product_code": "P-FUZZ",
            "principal_minor": 300_000,
            "disbursed_on": "2026-01-10",
        }
        posts = [("/products", product), ("/loans", loan)]
    elif name == "notifier":
        profile = {
            "language": "en",
            "timezone": "Asia/Shanghai",
            "jurisdiction": "CN",
            "channels": [{"channel": "sms", "address": "+8613700000000", "priority": 1}],
        }
        posts = [(f"/borrowers/{FUZZ_BORROWER}/contact-profile", profile)]
    for path, body in posts:
        r = client.post(path, json=body, headers={**staff, "Idempotency-Key": unique("seed")})
        assert r.status_code in (200, 201), r.text


def seeded(schema: Any, path: str, method: str) -> list[Any]:
    """A strategy with the seeded ids in the path, where the path has such parameters."""
    ids = {"loan_id": FUZZ_LOAN, "borrower_id": FUZZ_BORROWER}
    params = {k: v for k, v in ids.items() if "{" + k + "}" in path}
    if not params:
        return []
    return [schema[path][method.upper()].as_strategy(path_parameters=params)]


@pytest.mark.parametrize(
    ("service", "path", "method", "roles"),
    OPERATIONS,
    ids=[f"{s}-{m.upper()}-{p}" for s, p, m, _ in OPERATIONS],
)
def test_operation_answers_bad_input_as_documented(
    apps: dict[str, tuple[Any, Any]],
    service: str,
    path: str,
    method: str,
    roles: tuple[str, ...],
) -> None:
    schema, tokens = apps[service]
    granted, borrower = caller_roles(roles)
    token = tokens.issue(f"fuzz-{service}", granted, borrower_id=borrower)
    headers = {"Authorization": f"Bearer {token}"}
    extra = seeded(schema, path, method)
    exercise_operation(schema, path, method, headers, extra, max_examples=FUZZ_EXAMPLES)
