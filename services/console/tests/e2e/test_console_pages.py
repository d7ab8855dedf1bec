"""The console over the running platform, without a browser: every page answers for ops,
the loans list pages through 100,000 loans (every loan once, in order; each page one index
range), a borrower's token is refused, replay needs admin. How fast a page is, is measured
by ``bench/console_pages.py``, not here."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest

from lendkit.auth import Role
from lendkit.pagination import encode_cursor
from lendkit.testing.platform import BULK_LOANS, bulk_loan_id, ledger_dsn

pytestmark = pytest.mark.e2e


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


ROW = re.compile(r'<th scope="row"><a href="/loans/([^"]+)">')
NEXT = re.compile(r'id="next-page" rel="next" href="([^"]+)"')


async def _walk(c: httpx.AsyncClient, path: str, pages: int) -> tuple[list[str], bool]:
    """The loan ids of at most ``pages`` pages of the loans list from ``path`` on, following
    each page's next link, and whether the last page read had none (the end of the book)."""
    ids: list[str] = []
    for _ in range(pages):
        r = await c.get(path)
        assert r.status_code == 200, r.text[:300]
        rows = ROW.findall(r.text)
        assert 0 < len(rows) <= 50, (path, len(rows))
        ids += rows
        found = NEXT.search(r.text)
        if found is None:
            return ids, True
        path = html.unescape(found.group(1))
    return ids, False


async def _ledger_ids(seeded: Any, sql: str, *args: Any) -> list[str]:
    conn = await asyncpg.connect(ledger_dsn(seeded.platform))
    try:
        return [row[0] for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_the_loans_list_pages_through_the_book_every_loan_once_in_order(
    seeded: Any,
) -> None:
    """Over 100,000 loans, the first ten pages are exactly the first 500 loans by loan id,
    the pages from a cursor near the end run to the book's last loan (whose page has no next
    link) and miss none, and the status filter keeps to its loans in the same order. (How
    fast a page is: bench/console_pages.py.)"""
    async with client(seeded, Role.OPS) as c:
        head, _ = await _walk(c, "/loans", pages=10)
        assert head == await _ledger_ids(
            seeded, "SELECT loan_id FROM loans ORDER BY loan_id LIMIT 500"
        )

        tail_from = bulk_loan_id(BULK_LOANS - 120)
        tail, ended = await _walk(
            c, "/loans?" + urlencode({"cursor": encode_cursor({"after": tail_from})}), pages=10
        )
        assert ended, "the last page links no next one"
        assert tail == await _ledger_ids(
            seeded, "SELECT loan_id FROM loans WHERE loan_id > $1 ORDER BY loan_id", tail_from
        )
        assert len(tail) > 100, "the walk crossed pages to the last one"

        active, _ = await _walk(c, "/loans?status=active", pages=3)
        assert active == await _ledger_ids(
            seeded,
            "SELECT loan_id FROM loans WHERE status = 'active' ORDER BY loan_id LIMIT 150",
        )
    assert len(set(head)) == len(head) and len(set(tail)) == len(tail), "no loan twice"


async def test_a_loans_page_is_one_index_range_whatever_the_book_size(seeded: Any) -> None:
    """Why a page costs the same at any book size: the ledger's page query (``ORDER BY loan_id LIMIT
    n+1`` after the cursor) reads the primary key's index, never sorts or scans the book."""
    conn = await asyncpg.connect(ledger_dsn(seeded.platform))
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


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else None]


async def test_the_plans_page_counts_the_seeded_request_and_offers_from_the_rest(
    seeded: Any,
) -> None:
    """The fixture asked for hardship on the overdue loan (every eligible plan type an open
    offer) and made a penalty waiver that waits for a checker."""
    async with client(seeded, Role.OPS, cookies={"console_lang": "en"}) as c:
        page = html.unescape((await c.get("/plans")).text)
    by_status = _section(page, "by-status")
    assert re.search(r"<code>pending</code></th><td class=\"num\">1</td>", by_status), by_status
    assert re.search(r"<code>open</code></th><td class=\"num\">[1-9]", by_status), by_status
    waiting = _section(page, "awaiting-approval")
    assert seeded.loans["overdue"] in waiting and "<td>tester</td>" in waiting, waiting
    assert "¥" in waiting, waiting
    rates = _section(page, "rates")
    assert "CON-CASH-3" in rates and "penalty_waiver" in rates, rates


async def test_the_contacts_page_shows_the_notifiers_reports(seeded: Any) -> None:
    """The seeded borrowers have no contact address: every reminder is suppressed by the
    notifier's ``no_address`` rule, which its ``/ops/suppressions`` report counts."""
    async with client(seeded, Role.OPS, cookies={"console_lang": "en"}) as c:
        page = html.unescape((await c.get("/contacts")).text)
    suppressions = _section(page, "suppressions")
    assert re.search(
        r"<code>no_address</code></th><td>suppressed</td><td class=\"num\">[1-9]", suppressions
    ), suppressions
    for section in ("delivery", "undeliverable"):
        body = _section(page, section)
        assert 'class="unavailable"' not in body and "<h2" in body, body


async def test_the_loan_page_shows_its_promise_from_the_restructure_rest(seeded: Any) -> None:
    async with client(seeded, Role.OPS, cookies={"console_lang": "en"}) as c:
        page = html.unescape((await c.get(f"/loans/{seeded.loans['overdue']}")).text)
    section = _section(page, "restructuring")
    assert 'id="promises"' in section, section
    assert "Feb 20, 2026" in section and "CN¥100.00" in section, section
