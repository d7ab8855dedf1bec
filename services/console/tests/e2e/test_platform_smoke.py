"""The console over the running platform, without a browser: every page answers, the
loans list pages through 100,000 loans within its budget, a borrower is refused."""

from __future__ import annotations

import httpx
import pytest

from lendkit.auth import Role

pytestmark = pytest.mark.e2e


async def test_every_page_answers_for_ops(seeded) -> None:
    p = seeded.platform
    token = p.token("console", [Role.OPS])
    async with httpx.AsyncClient(base_url=p.console, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for path in ["/", "/loans", f"/loans/{seeded.loans['overdue']}", "/events", "/events/lag", "/events/dead-letters", "/contacts", "/plans"]:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:500])
        print((await c.get("/")).text)
