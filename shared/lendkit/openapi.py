"""OpenAPI documentation every service's routes share: problem+json errors and the
Idempotency-Key header (the kit answers them; this only documents them)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from lendkit.idempotency import MAX_KEY_LENGTH
from lendkit.problems import PROBLEM_JSON


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the kind of problem, or about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = Field(default=None, description="the request path")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="validation failures (422 only): loc, msg, type"
    )


_PROBLEM_SCHEMA = ProblemDetails.model_json_schema()

_WHY = {
    400: "Malformed request: unparsable JSON body, missing or too long Idempotency-Key, "
    "invalid cursor or period",
    401: "Missing, expired or invalid bearer token",
    403: "The token's roles do not allow this",
    404: "No such resource (or not the borrower's own)",
    409: "Conflicts with the resource's current state",
    422: "Request fields are invalid, the request is refused by a business rule, or an "
    "Idempotency-Key was reused with a different request",
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


#: Statuses every authenticated route can answer.
AUTH = (401, 403, 422)

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


#: Identifiers PostgreSQL can compare: no NUL characters (they used to end in a 500).
NO_NUL = r"^[^\x00]*$"
#: A loan id (or other id) in the path.
LoanId = Annotated[str, Path(max_length=200, pattern=NO_NUL)]
#: An optional free-text or id query parameter.
QueryText = Annotated[str | None, Query(max_length=200, pattern=NO_NUL)]


def service_router(tag: str) -> APIRouter:
    """A service's router; documents JWT bearer auth on every route (``lendkit.auth`` checks)."""
    return APIRouter(
        tags=[tag],
        dependencies=[Depends(HTTPBearer(auto_error=False, description="JWT with roles"))],
    )
