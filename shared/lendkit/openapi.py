"""OpenAPI documentation every service's routes share: problem+json errors and the
Idempotency-Key header (the kit answers them; this only documents them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lendkit.auth import Role, RoleCheck
from lendkit.idempotency import MAX_KEY_LENGTH
from lendkit.problems import PROBLEM_JSON


class ValidationIssue(BaseModel):
    """One field that failed validation (pydantic's error, as FastAPI reports it)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="where: body, query, path or header, then the field")
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the kind of problem, or about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = Field(default=None, description="the request path")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="the fields at fault (400 and 422): loc, msg, type"
    )


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}


def _problem_components() -> dict[str, Any]:
    """``ProblemDetails`` and what it refers to, as OpenAPI components."""
    schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["ProblemDetails"] = schema
    return components


_WHY = {
    400: "Malformed request: unparsable JSON body, missing or too long Idempotency-Key, "
    "invalid cursor or period",
    401: "Missing, expired or invalid bearer token",
    403: "The token's roles do not allow this",
    404: "No such resource (or not the borrower's own)",
    409: "Conflicts with the resource's current state",
    413: "The request body is over the service's limit (*_HTTP_MAX_BODY_BYTES)",
    422: "Request fields are invalid, the request is refused by a business rule, or an "
    "Idempotency-Key was reused with a different request",
    503: "The database is busy or unreachable; nothing was changed: retry the same request "
    "after Retry-After seconds",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries: each status answered as application/problem+json."""
    return {
        status: {
            "description": _WHY.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


#: Statuses every authenticated route can answer (the kit's gate answers 401 and 413
#: before the body is read).
AUTH = (401, 403, 413, 422)

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Unique per intended operation. A retry with the same key and body gets "
    "the stored response (Idempotent-Replayed: true); the same key with a different body "
    "is refused (422); without a key the request is refused (400).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}

#: ``openapi_extra=`` of a POST that moves money or state.
IDEMPOTENT: dict[str, Any] = {"parameters": [IDEMPOTENCY_KEY_PARAMETER]}


#: Text a person or another system may send: no control characters (C0, DEL, C1: a NUL
#: used to end in a 500, a newline forges log lines) and no bidirectional or line-separator
#: formatting characters (they make "1,000 paid" display as something else). The one rule
#: for every free-text field, path segment and query text of every service.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]*$"
#: A free-text body field; give it its length bounds with ``Field``.
FreeText = Annotated[str, StringConstraints(pattern=PLAIN_TEXT)]
#: A loan id (or other id) in the path.
LoanId = Annotated[str, Path(max_length=200, pattern=PLAIN_TEXT)]
#: An optional free-text or id query parameter.
QueryText = Annotated[str | None, Query(max_length=200, pattern=PLAIN_TEXT)]


def service_router(tag: str) -> APIRouter:
    """A service's router; documents JWT bearer auth on every route (``lendkit.auth`` checks)."""
    return APIRouter(
        tags=[tag],
        dependencies=[Depends(HTTPBearer(auto_error=False, description="JWT with roles"))],
    )


#: A business date a request may carry: PostgreSQL stores the extremes (0001-01-01,
#: 9999-12-31) as -infinity/infinity, on which no date arithmetic works.
BusinessDate = Annotated[date, Field(gt=date.min, lt=date.max)]


def _route_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles that pass every role check of a route (``None``: no role check at all)."""
    checks: list[frozenset[Role]] = []
    stack = [dependant]
    while stack:
        current = stack.pop()
        if isinstance(current.call, RoleCheck):
            checks.append(current.call.roles)
        stack.extend(current.dependencies)
    if not checks:
        return None
    return frozenset.intersection(*checks)


def _has_body(operation: dict[str, Any]) -> bool:
    return "requestBody" in operation


def complete_openapi(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Complete each operation of ``app``'s OpenAPI document from the routes of ``routers``
    (the routers included in ``app``, without prefixes):

    - ``x-roles``: the roles that may call it, read from the same ``RoleCheck`` dependency
      that enforces them, also written in the description;
    - the bearer ``security`` requirement (none on the public health routes), with 401 and
      413 (the gate answers both before the body is read) and 403 unless every role may;
    - 503 (database busy or away: ``lendkit.problems``) on every authenticated route;
    - 400 for an unparsable body on every operation with a body.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(_problem_components())
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            roles = _route_roles(route.dependant)
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                if roles is None:
                    operation["security"] = []
                    continue
                names = sorted(role.value for role in roles)
                operation["x-roles"] = names
                operation["security"] = [{"HTTPBearer": []}]
                line = f"**Roles:** {', '.join(names)}."
                description = operation.get("description", "")
                operation["description"] = f"{description}\n\n{line}" if description else line
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", problems(401)[401])
                responses.setdefault("413", problems(413)[413])
                responses.setdefault("503", problems(503)[503])
                if roles == frozenset(Role):
                    responses.pop("403", None)  # every role may call it: no role is refused
                else:
                    responses.setdefault("403", problems(403)[403])
                if _has_body(operation):
                    responses.setdefault("400", problems(400)[400])
                elif not operation.get("parameters"):
                    responses.pop("422", None)  # nothing in the request to be invalid
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def as_of_query(default: str) -> Any:
    """``Query`` of an ``as_of`` parameter, documenting what the default is."""
    return Query(
        description=f"The business date to answer for (ISO 8601, YYYY-MM-DD). Default: {default}."
    )
