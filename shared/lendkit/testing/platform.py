"""The whole platform as processes, for the console's end-to-end tests and its benchmark.

The four services as ``scripts/up.sh`` starts them (``python -m <service>``, development
mode, simulated clock), each on a fresh database and all on one private topic namespace,
and the console beside them (``python -m console``), on ``base_port`` (the console) and the
next four ports (the services). Then a small portfolio to look at (:func:`seed_portfolio`)
and, for the loans list, a book of bulk copies of one loan (:func:`add_bulk_loans`).

Used by ``services/console/tests/e2e/conftest.py`` and ``bench/console_pages.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx

from lendkit.auth import Role, TokenCodec
from lendkit.migrations import upgrade
from lendkit.settings import ServiceSettings
from lendkit.testing.servers import (
    KAFKA,
    create_platform_topics,
    delete_namespace_topics,
    fresh_database,
    unique,
)

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("ledger", "overdue", "notifier", "restructure")
PRODUCT = {
    "code": "CON-CASH-3",
    "currency": "CNY",
    "annual_rate": "0.12",
    "term": 3,
    # a penalty waiver is offered too (forgiving anything needs a checker: threshold 0)
    "restructure_policy": {
        "allowed_options": ["payment_holiday", "term_extension", "promise_to_pay", "penalty_waiver"]
    },
}
PRODUCT_USD = {"code": "CON-USD-3", "currency": "USD", "annual_rate": "0.10", "term": 3}
#: The size of the book the loans list is held to (issue 13: 100,000 loans).
BULK_LOANS = 100_000


@dataclass
class Platform:
    namespace: str
    urls: dict[str, str]
    databases: dict[str, str]
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def console(self) -> str:
        return self.urls["console"]

    def token(
        self, audience: str, roles: list[Role], subject: str = "tester", borrower: str | None = None
    ) -> str:
        codec = TokenCodec(ServiceSettings(service_name=audience, development_mode=True))
        return codec.issue(subject, roles, borrower_id=borrower)

    def headers(self, service: str, *roles: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(service, list(roles or [Role.OPS]))}"}

    async def post(self, service: str, path: str, body: dict[str, Any], *roles: Role) -> Any:
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=30) as client:
            r = await client.post(
                path,
                json=body,
                headers={
                    **self.headers(service, *(roles or (Role.OPS, Role.ADMIN))),
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def get(self, service: str, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.urls[service], timeout=30) as client:
            r = await client.get(path, params=params, headers=self.headers(service, Role.OPS))
        return r.json() if r.status_code == 200 else None

    async def pay(self, loan_id: str, amount_minor: int, value_date: date) -> Any:
        return await self.post(
            "ledger",
            f"/loans/{loan_id}/payments",
            {
                "external_reference": unique("bank"),
                "amount_minor": amount_minor,
                "value_date": value_date.isoformat(),
            },
            Role.SERVICE,
        )


async def _ready(client: httpx.AsyncClient, url: str, process: asyncio.subprocess.Process) -> None:
    for _ in range(900):
        try:
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.returncode is None, f"{url} exited"
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} not ready")


@asynccontextmanager
async def running_platform(
    log_dir: Path, base_port: int, database_suffix: str = "console_e2e"
) -> AsyncIterator[Platform]:
    """The four services and the console running, ready, each with its log in ``log_dir``;
    stopped (and the private topics deleted) on leaving. Databases are named
    ``<service>_<database_suffix>`` (behind ``TEST_DB_PREFIX``), so the tests and the
    benchmark never share one."""
    namespace = unique("console-e2e") + "."
    await create_platform_topics(namespace)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "LEDGER_SIMULATED_CLOCK": "true",
    }
    urls: dict[str, str] = {}
    databases: dict[str, str] = {}
    for i, name in enumerate(SERVICES, start=1):
        url = await fresh_database(f"{name}_{database_suffix}")
        await asyncio.to_thread(upgrade, name, url)
        prefix = name.upper()
        env |= {
            f"{prefix}_DATABASE_URL": url,
            f"{prefix}_HTTP_PORT": str(base_port + i),
            f"{prefix}_TOPIC_NAMESPACE": namespace,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            f"{prefix}_DEVELOPMENT_MODE": "true",
            f"{prefix}_OUTBOX_POLL_INTERVAL_MS": "100",
            f"{prefix}_CONSUMER_RETRY_BACKOFF_MS": "20",
            f"{prefix}_CONSUMER_MAX_ATTEMPTS": "2",
        }
        urls[name] = f"http://127.0.0.1:{base_port + i}"
        env[f"CONSOLE_{prefix}_URL"] = urls[name]
        databases[name] = url
    env |= {
        "CONSOLE_HTTP_PORT": str(base_port),
        "CONSOLE_TOPIC_NAMESPACE": namespace,
        "CONSOLE_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "CONSOLE_DEVELOPMENT_MODE": "true",
    }
    urls["console"] = f"http://127.0.0.1:{base_port}"
    await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)
    platform = Platform(namespace, urls, databases)
    logs: list[IO[bytes]] = []
    try:
        for name in (*SERVICES, "console"):
            log = await asyncio.to_thread((log_dir / f"{name}.log").open, "wb")
            logs.append(log)
            platform.processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", name, env=env, cwd=ROOT, stdout=log, stderr=log
                )
            )
        async with httpx.AsyncClient() as client:
            for name, process in zip((*SERVICES, "console"), platform.processes, strict=True):
                await _ready(client, urls[name], process)
        yield platform
    finally:
        for process in platform.processes:
            if process.returncode is None:
                process.terminate()
        for process in platform.processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
        for opened in logs:
            opened.close()
        await delete_namespace_topics(namespace)


async def seed_portfolio(platform: Platform) -> dict[str, str]:
    """Two products, four loans; business days closed so that two go overdue, then one
    pays and is cured; then hardship, a waiver awaiting a checker and a promise on the
    overdue loan (:func:`seed_restructuring`). Answers the loan ids by role."""
    await platform.post("ledger", "/products", PRODUCT)
    await platform.post("ledger", "/products", PRODUCT_USD)
    loans = {"overdue": "CON-L-1", "cured": "CON-L-2", "current": "CON-L-3", "usd": "CON-L-4"}
    for loan_id, product, borrower in (
        (loans["overdue"], PRODUCT, "B-1"),
        (loans["cured"], PRODUCT, "B-2"),
        (loans["current"], PRODUCT, "B-3"),
        (loans["usd"], PRODUCT_USD, "B-4"),
    ):
        await platform.post(
            "ledger",
            "/loans",
            {
                "loan_id": loan_id,
                "borrower_id": borrower,
                "product_code": product["code"],
                "principal_minor": 300_000,
                "disbursed_on": "2026-01-05",
                "timezone": "America/New_York" if product is PRODUCT_USD else "Asia/Shanghai",
            },
        )
    # The current loan pays its first instalment before it is due.
    await platform.pay(loans["current"], 110_000, date(2026, 1, 20))
    day = date(2026, 2, 1)
    while day <= date(2026, 2, 12):
        await platform.post("ledger", "/close-of-business", {"business_date": day.isoformat()})
        day += timedelta(days=1)
    await _until_closed(platform, date(2026, 2, 12))
    owed = await platform.get("ledger", f"/loans/{loans['cured']}/owed", as_of="2026-02-13")
    await platform.pay(loans["cured"], owed["total_minor"] + 5_000, date(2026, 2, 13))
    await platform.post("ledger", "/close-of-business", {"business_date": "2026-02-13"})
    await _until_closed(platform, date(2026, 2, 13))
    await seed_restructuring(platform, loans["overdue"])
    return loans


async def seed_restructuring(platform: Platform, loan_id: str) -> dict[str, Any]:
    """A hardship request on ``loan_id`` (every eligible plan type quoted as an open offer)
    and an ops-made penalty waiver, which waits for a checker (it forgives more than the
    default approval threshold of 0), and a promise to pay ¥100.00 on 2026-02-20. Until the restructure service has the loan's terms
    from the topics the request is refused (409 ``loan-terms-unknown``): asked again."""
    url = platform.urls["restructure"]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(1200):  # at most 5 minutes on a loaded machine
            r = await client.post(
                f"/loans/{loan_id}/hardship-requests",
                json={"reason": "income reduced"},
                headers={
                    **platform.headers("restructure", Role.OPS),
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            if not (r.status_code == 409 and r.json()["type"].endswith("/loan-terms-unknown")):
                break
            await asyncio.sleep(0.25)
        assert r.status_code == 201, r.text
    waiver = await platform.post(
        "restructure", f"/loans/{loan_id}/offers", {"plan_type": "penalty_waiver"}, Role.OPS
    )
    promise = await platform.post(
        "restructure",
        f"/loans/{loan_id}/promises",
        {"promised_on": "2026-02-20", "amount_minor": 10_000},
        Role.OPS,
    )
    return {"request": r.json(), "waiver": waiver, "promise": promise}


async def _until_closed(platform: Platform, day: date) -> None:
    for _ in range(600):
        clock = await platform.get("overdue", "/business-clock")
        if clock and clock.get("last_closed_day") == day.isoformat():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"overdue did not close {day}")


def bulk_loan_id(n: int) -> str:
    """The id of the ``n``-th bulk loan (1-based), as :func:`add_bulk_loans` names them."""
    return f"BULK-{n:06d}"


async def add_bulk_loans(platform: Platform, count: int, template: str) -> None:
    """``count`` more loans in the ledger's table, copies of ``template`` named
    ``BULK-000001``... (for the loans list: it reads the loans table only)."""
    conn = await asyncpg.connect(ledger_dsn(platform))
    try:
        await conn.execute(
            """
            INSERT INTO loans (loan_id, borrower_id, product_code, currency, principal,
                               annual_rate, disbursed_on, timezone, status, schedule_version)
            SELECT 'BULK-' || lpad(g::text, 6, '0'), 'BB-' || g, product_code, currency,
                   principal, annual_rate, disbursed_on, timezone, status, schedule_version
            FROM loans, generate_series(1, $1::int) AS g WHERE loan_id = $2
            """,
            count,
            template,
        )
        await conn.execute("ANALYZE loans")
    finally:
        await conn.close()


def ledger_dsn(platform: Platform) -> str:
    """The ledger's database as a plain PostgreSQL URL (for asyncpg)."""
    return platform.databases["ledger"].replace("postgresql+asyncpg://", "postgresql://")
