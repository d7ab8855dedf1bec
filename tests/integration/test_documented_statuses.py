"""What each service's OpenAPI document promises about access and request errors is what
the service answers, for every operation, with real requests:

- ``x-roles``: every role outside it gets 403, every role in it gets past the role check;
- 401 without a token, 413 for a body over the limit, 400 for a body that is not JSON,
  422 for a well-formed but invalid request, 404 for a made-up id, wherever the document
  lists them (409 depends on state: each service's own tests produce it).

Requests use made-up ids and invalid bodies, so nothing is changed.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique

SERVICES = ("ledger", "overdue", "notifier", "restructure")
METHODS_WITH_BODY = {"post", "put", "patch"}


class Service:
    def __init__(self, name: str, client: httpx.AsyncClient, runtime: Any) -> None:
        self.name = name
        self.client = client
        self.runtime = runtime

    def auth(self, role: Role) -> dict[str, str]:
        subject = f"{role}-{unique('u')}"
        borrower = subject if role is Role.BORROWER else None
        token = self.runtime.tokens.issue(subject, [role], borrower_id=borrower)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module", params=SERVICES)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[Service]:
    name: str = request.param
    url = await fresh_database(f"{name}_documented")
    await asyncio.to_thread(upgrade, name, url)
    settings_cls = importlib.import_module(f"{name}.settings").Settings
    create_app = importlib.import_module(f"{name}.bootstrap").create_app
    app = create_app(settings_cls(database_url=url, consumer_group=unique(f"{name}-doc")))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield Service(name, client, app.state.runtime)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "x-roles" in operation
    ]


def _invalid_value(schema: dict[str, Any]) -> str | None:
    """A value the parameter's schema refuses (None when it refuses nothing)."""
    options = schema.get("anyOf", [schema])
    kinds = {o.get("type") for o in options}
    if kinds & {"integer", "number"}:
        return "not-a-number"
    if any(o.get("format") in {"date", "date-time"} for o in options):
        return "not-a-date"
    if any("enum" in o for o in options):
        return "not-one-of-them"
    if kinds == {"boolean"}:
        return "perhaps"
    if any("pattern" in o for o in options):
        return "bad\x01value"
    if any("maxLength" in o for o in options):
        return "x" * (max(o.get("maxLength", 0) for o in options) + 1)
    return None


def _url(path: str, operation: dict[str, Any], *, invalid: str | None = None) -> str:
    """``path`` with made-up path parameters, the required query parameters filled in; with
    ``invalid``, that parameter carries a value its schema refuses."""
    query: dict[str, str] = {}
    for p in operation.get("parameters", []):
        value = "x-1"
        if p["name"] == invalid:
            value = _invalid_value(p.get("schema", {})) or value
        elif p.get("schema", {}).get("format") == "date":
            value = "2026-01-05"
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", quote(value, safe=""))
        elif p["in"] == "query" and (p.get("required") or p["name"] == invalid):
            query[p["name"]] = value
    if not query:
        return path
    return path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())


async def _call(
    service: Service,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    headers = dict(headers or {})
    if content is not None:
        headers["content-type"] = "application/json"
    elif method in METHODS_WITH_BODY:
        # Well-formed JSON: the role check comes before the body's validation (an unparsable
        # body is refused with 400 before any dependency runs). No Idempotency-Key is sent,
        # so an admitted POST changes nothing either.
        content, headers["content-type"] = b"{}", "application/json"
    return await service.client.request(method.upper(), url, headers=headers, content=content)


async def test_every_role_outside_x_roles_is_refused_and_every_role_in_it_admitted(
    service: Service,
) -> None:
    document = (await service.client.get("/openapi.json")).json()
    operations = _operations(document)
    assert operations, "every service has operations behind a role (at least /metrics)"
    for path, method, operation in operations:
        allowed = set(operation["x-roles"])
        assert f"**Roles:** {', '.join(sorted(allowed))}." in operation["description"]
        assert operation["security"], (path, method)
        for role in Role:
            r = await _call(service, method, _url(path, operation), service.auth(role))
            refused = r.status_code == 403
            assert refused == (role.value not in allowed), (method, path, role, r.text)


async def test_every_documented_request_error_is_what_the_service_answers(
    service: Service,
) -> None:
    document = (await service.client.get("/openapi.json")).json()
    limit = service.runtime.settings.http_max_body_bytes
    for path, method, operation in _operations(document):
        documented = set(operation["responses"])
        allowed = service.auth(Role(operation["x-roles"][0]))
        url = _url(path, operation)
        assert "401" in documented, (method, path)
        assert (await _call(service, method, url)).status_code == 401, (method, path)
        assert "413" in documented, (method, path)
        big = await _call(service, method, url, allowed, content=b" " * (limit + 1))
        assert big.status_code == 413, (method, path)
        if method == "get" and "404" in documented and "{" in path:
            missing = await _call(service, method, url, allowed)  # a made-up id
            assert missing.status_code == 404, (method, path, missing.text)
        if "requestBody" in operation:
            assert "400" in documented, (method, path)
            malformed = await _call(service, method, url, allowed, content=b"{not json")
            assert malformed.status_code == 400, (method, path, malformed.text)
            assert malformed.headers["content-type"] == "application/problem+json"
            invalid = await _call(service, method, url, allowed, content=b"[]")
            assert invalid.status_code == 422, (method, path, invalid.text)
            assert "422" in documented, (method, path)
        elif "422" in documented:
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] != "header"]
            answers = [
                (await _call(service, method, _url(path, operation, invalid=n), allowed))
                for n in names
            ]
            assert any(a.status_code == 422 for a in answers), (method, path, names)
