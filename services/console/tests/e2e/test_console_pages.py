"""The console over the running platform, without a browser: every page answers for ops,
the loans list pages through 100,000 loans within its budget (the console's own timing
header), a borrower's token is refused, replay needs admin."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import asyncpg
import httpx
import pytest

from lendkit.auth import Role

pytestmark = pytest.mark.e2e

TIMING = "X-Console-Time-Ms"
#: The budget of one page of the loans list, measured by the console itself.
PAGE_BUDGET_MS = 300.0
#: Load average per core above which a missed budget says more about the machine than the
#: page (other jobs on a shared machine); the index-range test below holds regardless.
OVERSUBSCRIBED = 3.0


def client(seeded: Any, *roles: Role, **extra: Any) -> httpx.AsyncClient:
    token = seeded.platform.token("console", list(roles), "tester")
    return httpx.AsyncClient(
        base_url=seeded.platform.console,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        **extra,
    )


async def test_every_page_answers_for_ops(seeded: Any) -> None:
    async with client(seeded, Role.OPS) as c:
        for path in (
            "/",
            "/?from=2026-02-03&to=2026-02-10",
            "/loans",
            f"/loans/{seeded.loans['overdue']}",
            "/events",
            "/events/lag",
            "/events/dead-letters",
            "/contacts",
            f"/contacts?loan_id={seeded.loans['overdue']}",
            "/plans",
        ):
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert "暂不可用" not in r.text, (path, "a panel is unavailable")
        assert (await c.get("/loans/NO-SUCH-LOAN")).status_code == 404


async def _best_of(c: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    """The fastest of five answers (the machine may be shared: the best of a few is the
    page's own cost, not a neighbour's load)."""
    answers = [await c.get(path, params=params) for _ in range(5)]
    for r in answers:
        assert r.status_code == 200, r.text[:300]
    return min(answers, key=lambda r: float(r.headers[TIMING]))


async def test_the_loans_list_pages_through_100000_loans_within_budget(seeded: Any) -> None:
    timings: list[float] = []
    async with client(seeded, Role.OPS) as c:
        path = "/loans"
        for _ in range(10):
            r = await _best_of(c, path)
            timings.append(float(r.headers[TIMING]))
            found = re.search(r'id="next-page" rel="next" href="([^"]+)"', r.text)
            assert found, "every page but the last links the next"
            path = found.group(1).replace("&amp;", "&")
        deep = await _best_of(c, "/loans", status="active")
        timings.append(float(deep.headers[TIMING]))
    print("loans list pages (ms):", timings)
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > OVERSUBSCRIBED and max(timings) >= PAGE_BUDGET_MS:
        pytest.skip(f"machine oversubscribed (load {load:.1f} per core): {timings} ms")
    assert max(timings) < PAGE_BUDGET_MS, timings


async def test_a_loans_page_is_one_index_range_whatever_the_book_size(seeded: Any) -> None:
    """Why the budget holds at any size: the ledger's page query (``ORDER BY loan_id LIMIT
    n+1`` after the cursor) reads the primary key's index, never sorts or scans the book."""
    url = seeded.platform.databases["ledger"].replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM loans") > 100_000
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) SELECT * FROM loans WHERE loan_id > $1 "
            "ORDER BY loan_id LIMIT 51",
            "BULK-050000",
        )
    finally:
        await conn.close()
    text = json.dumps(plan)
    assert "Index Scan" in text and "Sort" not in text and "Seq Scan" not in text, text


async def test_a_borrower_token_is_refused_and_replay_needs_admin(seeded: Any) -> None:
    token = seeded.platform.token("console", [Role.BORROWER], "B-1", borrower="B-1")
    async with httpx.AsyncClient(base_url=seeded.platform.console) as c:
        r = await c.post("/login", data={"token": token})
        assert r.status_code == 403
        r = await c.get("/", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403, "a borrower's bearer token opens no page"
        ledger_token = seeded.platform.token("ledger", [Role.ADMIN])
        r = await c.post("/login", data={"token": ledger_token})
        assert r.status_code == 401, "a token for another audience is not a console login"
    async with client(seeded, Role.OPS) as c:
        r = await c.post(
            "/events/dead-letters/replay", data={"group": "overdue"}, headers={"HX-Request": "true"}
        )
        assert r.status_code == 403
    async with client(seeded, Role.ADMIN) as c:
        r = await c.post("/events/dead-letters/replay", data={"group": "overdue"})
        assert r.status_code == 403, "replay comes from the page (HX-Request), not a bare form"
        r = await c.post(
            "/events/dead-letters/replay", data={"group": "nobody"}, headers={"HX-Request": "true"}
        )
        assert r.status_code == 422
