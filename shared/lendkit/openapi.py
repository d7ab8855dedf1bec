"""OpenAPI documentation every service's routes share: problem+json errors and the
Idempotency-Key header (the kit answers them; this only documents them)."""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    413: "The request body is over the service's limit (*_HTTP_MAX_BODY_BYTES)",
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
