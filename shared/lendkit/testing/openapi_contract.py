"""Property-based API tests with schemathesis, the same for every service (test-only: it
needs the dev requirements).

A service's test module lists its operations with :func:`tagged_operations`, loads the app
with ``schemathesis.openapi.from_asgi("/openapi.json", app, config=SCHEMATHESIS)`` and
calls :func:`exercise_operation` per operation: positive and negative examples (plus any
extra strategies, e.g. a seeded loan id), fixed seed, checked for no server error,
documented status codes, content types and bodies, and problem+json on every error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lendkit.openapi import ProblemDetails
from lendkit.problems import PROBLEM_JSON

SCHEMATHESIS = schemathesis.Config.from_dict({"seed": 20260401})
MAX_EXAMPLES = 25  # per operation and generation mode


def errors_are_problems(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx answer is an RFC 9457 problem document."""
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type == PROBLEM_JSON, f"{response.status_code} as {content_type!r}"
        problem = ProblemDetails.model_validate(response.json())
        assert problem.status == response.status_code
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_are_problems,
]


def tagged_operations(app: FastAPI, tag: str) -> list[tuple[str, str]]:
    """(path, method) of every operation of the app carrying ``tag``, sorted."""
    return sorted(
        (path, method)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if tag in operation.get("tags", [])
    )


def exercise_operation(
    schema: Any,
    path: str,
    method: str,
    headers: dict[str, str],
    extra_strategies: Sequence[Any] = (),
    max_examples: int = MAX_EXAMPLES,
) -> None:
    """Run the operation's examples and the checks; fails on the first violation."""
    operation = schema[path][method.upper()]
    strategies = [
        operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    strategies += list(extra_strategies)

    @settings(
        max_examples=max_examples * len(strategies),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
