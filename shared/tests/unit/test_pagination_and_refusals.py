"""The kit's keyset pages, refusals as problem+json, and ``rejecting`` for consumer handlers."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from lendkit.consumer import RejectedEvent, rejecting
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events.envelope import MalformedEvent
from lendkit.pagination import cursor_after, paginate
from lendkit.problems import PROBLEM_JSON, ProblemError, install_problem_handlers


def test_a_page_names_the_next_cursor_only_when_another_row_follows() -> None:
    ids = ["L-1", "L-2", "L-3"]
    first = paginate(ids, 2, key=str, item=str.lower)
    assert first.items == ["l-1", "l-2"]
    assert cursor_after(first.next_cursor) == "L-2"
    last = paginate(ids[2:], 2, key=str, item=str.lower)
    assert (last.items, last.next_cursor) == (["l-3"], None)
    exactly_full = paginate(ids[:2], 2, key=str, item=str.lower)
    assert exactly_full.next_cursor is None  # no empty page after a full last one
    assert paginate([], 2, key=str, item=str).next_cursor is None


def test_a_cursor_this_service_did_not_issue_is_a_400() -> None:
    assert cursor_after(None) is None
    for forged in ("not-base64!", "e30", "eyJhZnRlciI6IDF9"):  # garbage, {}, {"after": 1}
        with pytest.raises(ProblemError) as refused:
            cursor_after(forged)
        assert refused.value.status == 400


async def test_refusals_are_answered_as_problems_with_the_field_at_fault() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("No such loan")

    @app.get("/clash")
    async def clash() -> None:
        raise Conflict("Already paid")

    @app.get("/invalid")
    async def invalid() -> None:
        raise Invalid("Not this currency", field="currency")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answers = {path: await c.get(path) for path in ("/missing", "/clash", "/invalid")}
    assert {p: r.status_code for p, r in answers.items()} == {
        "/missing": 404,
        "/clash": 409,
        "/invalid": 422,
    }
    assert all(r.headers["content-type"] == PROBLEM_JSON for r in answers.values())
    body = answers["/invalid"].json()
    assert body["detail"] == "Not this currency"
    assert body["type"] == "https://overdue-platform.dev/problems/unprocessable"
    assert body["errors"] == [
        {"loc": ["body", "currency"], "msg": "Not this currency", "type": "value_error"}
    ]


async def test_rejecting_turns_the_named_refusals_into_dead_letters_and_nothing_else() -> None:
    @rejecting(KeyError)
    async def handler(uow: object, event: object) -> None:
        raise {"key": KeyError("no such loan"), "other": RuntimeError("boom")}[str(event)]

    with pytest.raises(RejectedEvent, match="KeyError"):
        await handler(None, "key")
    with pytest.raises(RuntimeError):  # not a refusal: retried by the consumer, not rejected
        await handler(None, "other")

    @rejecting()
    async def by_default(uow: object, event: object) -> None:
        raise NotFound("loan L-9 is not known")

    with pytest.raises(RejectedEvent, match="loan L-9 is not known"):
        await by_default(None, None)


async def test_a_malformed_payload_is_never_a_refusal_even_under_value_error() -> None:
    """``MalformedEvent`` is a ``ValueError``; a handler refusing ``ValueError`` must still let
    it through, so the consumer parks the key behind the bad record (found by the consumer
    contract's invalid-JSON poison on the restructure service's product handler)."""

    @rejecting(ValueError)
    async def handler(uow: object, event: object) -> None:
        if event == "malformed":
            raise MalformedEvent("ledger.product.published.v1 payload invalid")
        raise ValueError("a policy the service cannot use")

    with pytest.raises(MalformedEvent):
        await handler(None, "malformed")
    with pytest.raises(RejectedEvent, match="ValueError"):
        await handler(None, "refused")
