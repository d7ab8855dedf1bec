"""POST /loan-quotes over the real app (PostgreSQL behind the runtime)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique
from restructure.bootstrap import create_app
from restructure.settings import Settings


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    url = await fresh_database("restructure_quote_api")
    await asyncio.to_thread(upgrade, "restructure", url)
    app = create_app(Settings(database_url=url, consumer_group=unique("restructure-quote")))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        token = runtime.tokens.issue("b-1", [Role.BORROWER], borrower_id="b-1")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            yield c, {"Authorization": f"Bearer {token}"}


async def test_broken_first_period_quote_matches_the_ledgers_worked_example(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, auth = client
    body = {
        "currency": "CNY",
        "principal_minor": 1_200_000,
        "annual_rate": "0.12",
        "term": 12,
        "disbursed_on": "2026-01-27",
        "first_due_date": "2026-02-01",
        "locale": "zh-CN",
    }
    r = await http.post("/loan-quotes", json=body, headers=auth)
    assert r.status_code == 200, r.text
    quote = r.json()
    totals = [i["total_minor"] for i in quote["instalments"]]
    # docs/schedules.md: first instalment 965.92 (5 days of interest), then 1066.19
    assert totals[0] == 96_592 and totals[1:11] == [106_619] * 10
    assert sum(i["principal_minor"] for i in quote["instalments"]) == 1_200_000
    assert quote["total_payment_minor"] == 1_200_000 + quote["total_interest_minor"]
    assert "罚息" in quote["penalty_terms"]
    assert "0.12" < quote["effective_annual_cost"] < "0.13"


async def test_unknown_fields_and_unknown_currencies_are_refused(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, auth = client
    base = {
        "currency": "CNY",
        "principal_minor": 100,
        "annual_rate": "0",
        "term": 1,
        "disbursed_on": "2026-01-01",
    }
    r = await http.post("/loan-quotes", json=base | {"surprise": 1}, headers=auth)
    assert r.status_code == 422
    r = await http.post("/loan-quotes", json=base | {"currency": "XXX"}, headers=auth)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
