"""SQL statements (each one round trip) per payment, single POST and batch, counted on the
database connections of the ledger app running in this process.

    .venv/bin/python bench/count_statements.py
    PYTHONPATH=<base>/shared:<base>/services/ledger .venv/bin/python bench/count_statements.py

Every statement sent through asyncpg's public methods is counted (``Connection.execute``,
``fetch``, ``fetchrow``, ``fetchval``, ``executemany`` and ``PreparedStatement.fetch``,
which SQLAlchemy's dialect uses), BEGIN, COMMIT and the pool's ping included; the outbox
relay, consumers and retention are off, so only the requests' own statements count.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from typing import Any

import asyncpg
import asyncpg.prepared_stmt
import httpx

from ledger.bootstrap import create_app
from ledger.settings import Settings
from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database

PAYMENTS = 50


async def main() -> None:
    url = await fresh_database("ledger_count")
    await asyncio.to_thread(upgrade, "ledger", url)
    settings = Settings(
        database_url=url,
        development_mode=True,
        simulated_clock=True,
        run_outbox_relay=False,
        run_consumers=False,
        run_kit_retention=False,
    )
    app = create_app(settings)
    seen: collections.Counter[str] = collections.Counter()

    def counted(cls: Any, name: str, query_of: Any) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            seen[" ".join(str(query_of(self, args)).split())[:75]] += 1
            return await original(self, *args, **kwargs)

        setattr(cls, name, wrapper)

    for name in ("execute", "fetch", "fetchrow", "fetchval", "executemany"):
        counted(asyncpg.Connection, name, lambda _self, args: args[0])
    for name in ("fetch", "fetchrow", "fetchval"):
        counted(asyncpg.prepared_stmt.PreparedStatement, name, lambda st, _a: st.get_query())

    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        codec = runtime.tokens
        admin = {"Authorization": f"Bearer {codec.issue('bench', [Role.ADMIN])}"}
        service = {"Authorization": f"Bearer {codec.issue('bench', [Role.SERVICE])}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as c:
            code = f"CNT-{uuid.uuid4().hex[:6]}"
            product = {"code": code, "currency": "CNY", "annual_rate": "0.18", "term": 12}
            r = await c.post("/products", json=product, headers={**admin, "Idempotency-Key": code})
            r.raise_for_status()
            loans = []
            for i in range(PAYMENTS):
                body = {
                    "loan_id": f"CNT-{i}",
                    "borrower_id": f"B-{i}",
                    "product_code": code,
                    "principal_minor": 1_000_000,
                    "disbursed_on": "2026-01-15",
                }
                h = {**admin, "Idempotency-Key": uuid.uuid4().hex}
                (await c.post("/loans", json=body, headers=h)).raise_for_status()
                loans.append(body["loan_id"])

            def pay(loan: str) -> dict[str, Any]:
                return {
                    "external_reference": uuid.uuid4().hex,
                    "amount_minor": 1_000,
                    "value_date": "2026-02-10",
                }

            seen.clear()
            for loan in loans:
                r = await c.post(
                    f"/loans/{loan}/payments",
                    json=pay(loan),
                    headers={**service, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 201, r.text
            report("single POST /loans/{id}/payments", seen, PAYMENTS)

            seen.clear()
            batch = [
                {"loan_id": loan, "idempotency_key": uuid.uuid4().hex, **pay(loan)}
                for loan in loans
            ]
            r = await c.post(
                "/payments/batch",
                json={"payments": batch},
                headers={**service, "Idempotency-Key": uuid.uuid4().hex},
            )
            if r.status_code in (404, 405):
                print("POST /payments/batch: not served by this build")
            else:
                assert r.status_code == 200, r.text
                report(f"POST /payments/batch of {PAYMENTS}", seen, PAYMENTS)


def report(title: str, seen: collections.Counter[str], payments: int) -> None:
    total = sum(seen.values())
    print(f"\n{title}: {total / payments:.2f} statements (round trips) a payment")
    for query, n in seen.most_common():
        print(f"  {n / payments:6.2f}  {query}")


if __name__ == "__main__":
    asyncio.run(main())
