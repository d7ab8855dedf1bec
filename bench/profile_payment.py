"""CPU of one single payment POST, step by step, from cProfile over the ledger app running
in this process (one client, payments one after another, no relay or consumers).

    .venv/bin/python bench/profile_payment.py
    PYTHONPATH=<base>/shared:<base>/services/ledger .venv/bin/python bench/profile_payment.py

cProfile (on the process CPU clock) charges a coroutine only while it runs, not while it
awaits the database, so a
function's cumulative time is the CPU spent in it and under it. Each step is the
cumulative time of the functions named for it; "web layer" is what the app spends outside
the endpoint and the request's dependencies. The figures are CPU milliseconds a payment
with cProfile's own overhead (it inflates many small calls most): compare the rows, and
compare before/after from the same machine.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
import uuid
from typing import Any

import httpx

from ledger.bootstrap import create_app
from ledger.settings import Settings
from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database

PAYMENTS = 300

#: step -> (file suffix, function name) pairs whose cumulative times add up to it
STEPS: dict[str, list[tuple[str, str]]] = {
    "whole app (ASGI call)": [("fastapi/applications.py", "__call__")],
    "dependencies (auth, header, body validation)": [
        ("fastapi/dependencies/utils.py", "solve_dependencies")
    ],
    "  auth (JWT, roles)": [("lendkit/auth.py", "__call__")],
    "  validation (body to PaymentIn)": [("fastapi/dependencies/utils.py", "request_body_to_args")],
    "endpoint (post_payment)": [("ledger/entrypoints/api.py", "post_payment")],
    "  idempotency: claim, fingerprint, store": [
        ("lendkit/idempotency.py", "request_fingerprint"),
        ("lendkit/idempotency.py", "run_once"),
    ],
    "  visibility check (loans.get)": [("ledger/entrypoints/api.py", "visible")],
    "  work: record_payment": [("ledger/service_layer/commands.py", "record_payment")],
    "    loan lock + position load": [("ledger/adapters/repository.py", "load")],
    "    last closed day": [("ledger/adapters/business_days.py", "last_closed")],
    "    payment row (add_payment)": [("ledger/adapters/repository.py", "add_payment")],
    "    allocation (allocate_latest, settle_position)": [
        ("ledger/domain/resettlement.py", "allocate_latest"),
        ("ledger/domain/resettlement.py", "settle_position"),
    ],
    "    journal + settlement write (save_settlement)": [
        ("ledger/adapters/repository.py", "save_settlement"),
        ("ledger/domain/journal.py", "payment_entry"),
    ],
    "    events built (contracts, CloudEvents)": [
        ("ledger/service_layer/settlement.py", "allocated_event"),
        ("ledger/service_layer/settlement.py", "consequences"),
        ("lendkit/events/envelope.py", "new_event"),
    ],
    "    outbox write + version stamps (emit_all)": [
        ("ledger/service_layer/unit_of_work.py", "emit_all"),
        ("lendkit/db.py", "emit_all"),
    ],
    "  commit + notify": [("lendkit/db.py", "commit")],
    "response body (payment_body)": [("ledger/entrypoints/schemas.py", "payment_body")],
}


async def main() -> None:
    url = await fresh_database("ledger_profile")
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
    async with app.router.lifespan_context(app):
        codec = app.state.runtime.tokens
        admin = {"Authorization": f"Bearer {codec.issue('bench', [Role.ADMIN])}"}
        service = {"Authorization": f"Bearer {codec.issue('bench', [Role.SERVICE])}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as c:
            code = f"PRF-{uuid.uuid4().hex[:6]}"
            product = {"code": code, "currency": "CNY", "annual_rate": "0.18", "term": 12}
            r = await c.post("/products", json=product, headers={**admin, "Idempotency-Key": code})
            r.raise_for_status()
            loans = []
            for i in range(50):
                body = {
                    "loan_id": f"PRF-{i}",
                    "borrower_id": f"B-{i}",
                    "product_code": code,
                    "principal_minor": 1_000_000,
                    "disbursed_on": "2026-01-15",
                }
                h = {**admin, "Idempotency-Key": uuid.uuid4().hex}
                (await c.post("/loans", json=body, headers=h)).raise_for_status()
                loans.append(body["loan_id"])

            async def pay(n: int) -> None:
                r = await c.post(
                    f"/loans/{loans[n % len(loans)]}/payments",
                    json={
                        "external_reference": uuid.uuid4().hex,
                        "amount_minor": 1_000,
                        "value_date": "2026-02-10",
                    },
                    headers={**service, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 201, r.text

            for n in range(50):  # warm caches (statements, compiled SQL)
                await pay(n)
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for n in range(PAYMENTS):
                await pay(n)
            profiler.disable()
    report(pstats.Stats(profiler))


def report(stats: pstats.Stats) -> None:
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in table.values())  # tottime over everything profiled
    sqlalchemy = sum(v[2] for k, v in table.items() if "sqlalchemy" in k[0])
    asyncpg = sum(v[2] for k, v in table.items() if "asyncpg" in k[0])
    pydantic = sum(v[2] for k, v in table.items() if "pydantic" in k[0])
    print(f"CPU a payment (profiled, client included): {total / PAYMENTS * 1000:.2f} ms")
    cums = {}
    for step, names in STEPS.items():
        cums[step] = sum(
            v[3]
            for (path, _line, func), v in table.items()
            if any(path.endswith(f) and func == name for f, name in names)
        )
        print(f"  {step:<52} {cums[step] / PAYMENTS * 1000:7.3f} ms")
    web = (
        cums["whole app (ASGI call)"]
        - cums["dependencies (auth, header, body validation)"]
        - cums["endpoint (post_payment)"]
    )
    print(
        f"  {'web layer (app outside dependencies and endpoint)':<52} {web / PAYMENTS * 1000:7.3f} ms"
    )
    print("by library (own time):")
    for name, t in (("SQLAlchemy", sqlalchemy), ("asyncpg", asyncpg), ("pydantic", pydantic)):
        print(f"  {name:<52} {t / PAYMENTS * 1000:7.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
