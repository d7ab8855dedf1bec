"""A client generated from each service's served OpenAPI document works: the document
builds a Python client with ``openapi-python-client`` (pinned in requirements-dev.txt), and
a short journey through that client (not through hand-written requests) parses every
answer into the documented models. A document that cannot produce a working client fails
here."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

import httpx
import pytest

from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).replace("-", "_").lower()


class GeneratedClient:
    """The generated package of one service, driven over the in-process app."""

    def __init__(self, package: str, document: dict[str, Any], http: httpx.AsyncClient) -> None:
        self.package = package
        self.document = document
        self.http = http
        self.client = importlib.import_module(f"{package}.client").Client(base_url="http://svc")
        self.client.set_async_httpx_client(http)

    def _endpoint(self, method: str, path: str) -> ModuleType:
        operation = self.document["paths"][path][method]
        tag = _snake(operation["tags"][0])
        return importlib.import_module(
            f"{self.package}.api.{tag}.{_snake(operation['operationId'])}"
        )

    async def call(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        endpoint = self._endpoint(method, path)
        if body is not None:
            hint = get_type_hints(endpoint.asyncio_detailed)["body"]
            model = next(t for t in getattr(hint, "__args__", (hint,)) if hasattr(t, "from_dict"))
            kw["body"] = model.from_dict(body)
        self.http.headers["Authorization"] = f"Bearer {token}"
        response = await endpoint.asyncio_detailed(client=self.client, **kw)
        assert 200 <= response.status_code < 300, (method, path, response.content)
        assert response.parsed is not None, (method, path, "answer not parsed")
        return response.parsed


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("clients")
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))


def _generate(name: str, document: dict[str, Any], workdir: Path) -> str:
    """Generate ``<name>_client`` from ``document`` into ``workdir``; returns the package."""
    source = workdir / f"{name}.json"
    source.write_text(json.dumps(document))
    package = f"{name}_client"
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(source),
            "--meta",
            "none",
            "--output-path",
            str(workdir / package),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return package


@pytest.fixture(scope="module")
async def running(workdir: Path) -> AsyncIterator[dict[str, tuple[GeneratedClient, Any]]]:
    """The ledger and the overdue service, each with its generated client."""
    started: dict[str, tuple[GeneratedClient, Any]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name in ("ledger", "overdue"):
            url = await fresh_database(f"{name}_sdk")
            await asyncio.to_thread(upgrade, name, url)
            settings = importlib.import_module(f"{name}.settings").Settings
            overrides = {"simulated_clock": True} if name == "ledger" else {}
            app = importlib.import_module(f"{name}.bootstrap").create_app(
                settings(database_url=url, consumer_group=unique(f"{name}-sdk"), **overrides)
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")
            )
            document = (await http.get("/openapi.json")).json()
            package = _generate(name, document, workdir)
            started[name] = (GeneratedClient(package, document, http), app.state.runtime)
        yield started


def _token(runtime: Any, role: Role, borrower: str | None = None) -> str:
    return str(runtime.tokens.issue(borrower or f"{role}-sdk", [role], borrower_id=borrower))


async def test_a_loan_journey_through_the_generated_ledger_client(
    running: dict[str, tuple[GeneratedClient, Any]],
) -> None:
    client, runtime = running["ledger"]
    admin, ops = _token(runtime, Role.ADMIN), _token(runtime, Role.OPS)
    service = _token(runtime, Role.SERVICE)
    code, loan_id, borrower = unique("P"), unique("L"), unique("B")
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 3,
        "schedule_type": "EQUAL_PRINCIPAL",
    }
    await client.call("post", "/products", admin, product, idempotency_key=unique("k"))
    loan = {
        "loan_id": loan_id,
        "borrower_id": borrower,
        "product_code": code,
        "principal_minor": 300_000,
        "disbursed_on": "2026-01-10",
    }
    await client.call("post", "/loans", ops, loan, idempotency_key=unique("k"))

    detail = await client.call("get", "/loans/{loan_id}", ops, loan_id=loan_id)
    assert detail.loan_id == loan_id
    mine = await client.call(
        "get", "/loans/{loan_id}", _token(runtime, Role.BORROWER, borrower), loan_id=loan_id
    )
    assert mine.loan_id == loan_id
    payment = {
        "external_reference": unique("ref"),
        "amount_minor": 1_000,
        "value_date": "2026-01-10",
    }
    await client.call(
        "post",
        "/loans/{loan_id}/payments",
        service,
        payment,
        loan_id=loan_id,
        idempotency_key=unique("k"),
    )
    payments = await client.call("get", "/loans/{loan_id}/payments", ops, loan_id=loan_id)
    assert len(payments.items) == 1
    await client.call("get", "/loans/{loan_id}/owed", ops, loan_id=loan_id)
    listed = await client.call("get", "/loans", ops)
    assert loan_id in [item.loan_id for item in listed.items]


async def test_the_generated_overdue_client_reads_the_portfolio(
    running: dict[str, tuple[GeneratedClient, Any]],
) -> None:
    client, runtime = running["overdue"]
    ops = _token(runtime, Role.OPS)
    page = await client.call("get", "/overdue-loans", ops, as_of=date(2026, 1, 5))
    assert page.items == []
    await client.call("get", "/portfolio/summary", ops, as_of=date(2026, 1, 5))
