"""The notifier as a real process (``python -m notifier``) over the real Kafka and PostgreSQL,
sending through real HTTP webhook providers (a stub integrator served by this test on
127.0.0.1): retries, failover, duplicate triggers, and a ``kill -9`` between recording an
attempt and sending it.

The stub keys its behaviour on the address it is asked to send to (one borrower per case),
and counts a message once per ``Idempotency-Key`` (what a real provider does with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lendkit.contracts import overdue
from lendkit.contracts.topics import OVERDUE_LOANS
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import outbox
from lendkit.migrations import upgrade
from lendkit.testing import KAFKA, create_platform_topics, eventually, fresh_database, unique
from notifier.adapters.tables import contact_attempts
from notifier.domain.policy import Channel, Jurisdiction
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

NOTIFIER_PORT = 8130
PROVIDER_PORT = 8131
ROOT = Path(__file__).resolve().parents[4]
ATTEMPTS = 3  # webhook tries per provider


@dataclass
class Integrator:
    """Two providers, ``primary`` and ``secondary``, behind one stub server."""

    requests: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    accepted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    hold: asyncio.Event = field(default_factory=asyncio.Event)
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, provider: str, to: str, key: str) -> int | None:
        """The HTTP status for this request; None: hang until released (the crash case)."""
        n = self.requests[provider].count(key)  # this request included
        if to == "addr-fail-twice":
            return 503 if n <= 2 else 202
        if to == "addr-primary-down":
            return 503 if provider == "primary" else 202
        if to == "addr-all-down":
            return 503
        if to == "addr-hang" and provider == "primary" and not self.hold.is_set():
            return None
        return 202

    async def send(self, request: Request) -> JSONResponse:
        provider = request.path_params["provider"]
        body = json.loads(await request.body())
        key = request.headers["Idempotency-Key"]
        assert key == body["attempt_id"]
        self.requests[provider].append(key)
        status = self.answer(provider, body["to"], key)
        if status is None:
            self.held.set()
            await self.hold.wait()  # the notifier is killed while it waits for this answer
            status = 503
        if status == 202:
            self.accepted[provider].add(key)
        return JSONResponse({"ok": status == 202}, status_code=status)


@dataclass
class World:
    engine: AsyncEngine
    database_url: str
    namespace: str
    integrator: Integrator
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    group: str = field(default_factory=lambda: unique("notifier-delivery-e2e"))

    def uow(self) -> NotifierUnitOfWork:
        return NotifierUnitOfWork(async_sessionmaker(self.engine, expire_on_commit=False), "t")

    async def start(self, *, dispatcher: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
        webhooks = [
            {"name": name, "url": f"http://127.0.0.1:{PROVIDER_PORT}/{name}", "priority": p}
            for name, p in (("primary", 1), ("secondary", 2))
        ]
        env.update(
            NOTIFIER_DEVELOPMENT_MODE="true",
            NOTIFIER_DATABASE_URL=self.database_url,
            NOTIFIER_TOPIC_NAMESPACE=self.namespace,
            NOTIFIER_CONSUMER_GROUP=self.group,
            NOTIFIER_HTTP_PORT=str(NOTIFIER_PORT),
            NOTIFIER_WEBHOOKS=json.dumps(webhooks),
            NOTIFIER_WEBHOOK_ATTEMPTS=str(ATTEMPTS),
            NOTIFIER_WEBHOOK_BACKOFF_S="0.01",
            NOTIFIER_WEBHOOK_TIMEOUT_S="30",
            NOTIFIER_BREAKER_FAILURE_THRESHOLD="100",
            NOTIFIER_RUN_DISPATCHER="true" if dispatcher else "false",
            NOTIFIER_DISPATCH_INTERVAL_MS="100",
            NOTIFIER_OUTBOX_POLL_INTERVAL_MS="100",
            NOTIFIER_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join(str(ROOT / p) for p in ("shared", "services/notifier")),
        )
        self.process = _spawn(env, self.logs / f"notifier-{unique('run')}.log")
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                assert self.process is not None and self.process.poll() is None, "exited"
                with contextlib.suppress(httpx.HTTPError):
                    r = await client.get(f"http://127.0.0.1:{NOTIFIER_PORT}/readyz")
                    return r.status_code == 200
                return False

            await eventually(ready, timeout=60)

    def kill_9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    async def borrower(self, address: str) -> str:
        """A borrower whose local time is now mid-day (no quiet hours), reached by SMS."""
        borrower = unique("B")
        offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
        zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
        async with self.uow() as uow:
            await uow.profiles.put(
                borrower, "en", zone, Jurisdiction.OTHER, [(Channel.SMS, address, 1)]
            )
            await uow.commit()
        return borrower

    async def publish(self, *events: CloudEvent) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(
                    f"{self.namespace}{OVERDUE_LOANS}",
                    value=event.data,
                    key=event.key_bytes(),
                    headers=event.headers(),
                )
        finally:
            await producer.stop()

    async def states(self, loan: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(contact_attempts.c.state)
                .where(contact_attempts.c.loan_id == loan)
                .order_by(contact_attempts.c.id)
            )
            return list(rows.scalars())

    async def attempt_of(self, loan: str) -> str:
        async with self.engine.connect() as conn:
            found = await conn.execute(
                select(contact_attempts.c.attempt_id).where(contact_attempts.c.loan_id == loan)
            )
            return str(found.scalars().first())

    async def events(self, loan: str) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.event_type)
                .where(outbox.c.message_key == loan)
                .order_by(outbox.c.id)
            )
            return list(rows.scalars())

    async def settled(self, loan: str) -> list[str]:
        """The attempt's states once it reached sent or failed."""

        async def done() -> bool:
            return any(s in ("sent", "failed") for s in await self.states(loan))

        await eventually(done, timeout=60)
        return await self.states(loan)


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "notifier"], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def overdue_notice(loan: str, borrower: str) -> CloudEvent:
    return new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan,
            borrower_id=borrower,
            business_date=date(2026, 6, 1),
            oldest_unpaid_due_date=date(2026, 5, 31),
            days_past_due=1,
            bucket="1-30",
            overdue_minor=12_345,
            currency="CNY",
        ),
        source="/tests/overdue",
    )


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    url = await fresh_database("notifier_delivery_e2e")
    await asyncio.to_thread(upgrade, "notifier", url)
    namespace = unique("notifier-delivery") + "."
    await create_platform_topics(namespace)
    integrator = Integrator()
    app = Starlette(routes=[Route("/{provider}", integrator.send, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=PROVIDER_PORT, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    engine = create_async_engine(url)
    world = World(engine, url, namespace, integrator, tmp_path_factory.mktemp("logs"))
    try:
        yield world
    finally:
        world.stop()
        integrator.hold.set()
        server.should_exit = True
        await serving
        await engine.dispose()


async def test_a_provider_failing_twice_then_succeeding_gives_one_sent_message(
    world: World,
) -> None:
    await world.start()
    borrower, loan = await world.borrower("addr-fail-twice"), unique("L")
    await world.publish(overdue_notice(loan, borrower))
    assert await world.settled(loan) == ["decided", "queued", "sent"]
    attempt = await world.attempt_of(loan)
    assert world.integrator.requests["primary"].count(attempt) == 3  # 503, 503, 202
    assert world.integrator.accepted["primary"] >= {attempt}
    assert attempt not in world.integrator.requests["secondary"]
    await eventually(lambda: _events_are(world, loan, ["notifier.message.sent.v1"]))


async def test_an_always_failing_provider_fails_over_to_the_second_by_priority(
    world: World,
) -> None:
    borrower, loan = await world.borrower("addr-primary-down"), unique("L")
    await world.publish(overdue_notice(loan, borrower))
    assert await world.settled(loan) == ["decided", "queued", "sent"]
    attempt = await world.attempt_of(loan)
    assert world.integrator.requests["primary"].count(attempt) == ATTEMPTS
    assert world.integrator.requests["secondary"].count(attempt) == 1
    assert attempt in world.integrator.accepted["secondary"]


async def test_with_every_provider_failing_a_failed_event_and_no_more_retries(
    world: World,
) -> None:
    borrower, loan = await world.borrower("addr-all-down"), unique("L")
    await world.publish(overdue_notice(loan, borrower))
    assert await world.settled(loan) == ["decided", "queued", "failed"]
    await eventually(lambda: _events_are(world, loan, ["notifier.message.failed.v1"]))
    attempt = await world.attempt_of(loan)
    # Another trigger through the same dispatcher proves later rounds ran: the failed
    # attempt was not tried again.
    other_borrower, other = await world.borrower("addr-ok"), unique("L")
    await world.publish(overdue_notice(other, other_borrower))
    await world.settled(other)
    assert world.integrator.requests["primary"].count(attempt) == ATTEMPTS
    assert world.integrator.requests["secondary"].count(attempt) == ATTEMPTS
    assert await world.states(loan) == ["decided", "queued", "failed"]


async def test_the_same_trigger_delivered_twice_is_one_message(world: World) -> None:
    borrower, loan = await world.borrower("addr-twice"), unique("L")
    event = overdue_notice(loan, borrower)
    await world.publish(event, event)
    assert await world.settled(loan) == ["decided", "queued", "sent"]
    other_borrower, other = await world.borrower("addr-ok"), unique("L")
    await world.publish(overdue_notice(other, other_borrower))  # after both copies
    await world.settled(other)
    attempt = await world.attempt_of(loan)
    assert world.integrator.requests["primary"].count(attempt) == 1
    assert await world.states(loan) == ["decided", "queued", "sent"]


async def test_kill_9_after_recording_and_before_sending_sends_once_after_restart(
    world: World,
) -> None:
    world.stop()
    await world.start(dispatcher=False)  # records, never sends
    borrower, loan = await world.borrower("addr-crash"), unique("L")
    await world.publish(overdue_notice(loan, borrower))

    async def recorded() -> bool:
        return await world.states(loan) == ["decided", "queued"]

    await eventually(recorded, timeout=60)
    world.kill_9()
    attempt = await world.attempt_of(loan)
    assert attempt not in world.integrator.requests["primary"]

    await world.start()
    assert await world.settled(loan) == ["decided", "queued", "sent"]
    assert world.integrator.requests["primary"].count(attempt) == 1


async def test_kill_9_while_the_provider_call_is_in_flight_is_one_message_after_restart(
    world: World,
) -> None:
    borrower, loan = await world.borrower("addr-hang"), unique("L")
    await world.publish(overdue_notice(loan, borrower))
    await asyncio.wait_for(world.integrator.held.wait(), timeout=60)
    world.kill_9()  # the provider has the request; its answer is never read
    assert await world.states(loan) == ["decided", "queued"]
    attempt = await world.attempt_of(loan)
    world.integrator.hold.set()

    await world.start()
    assert await world.settled(loan) == ["decided", "queued", "sent"]
    # Sent again with the same Idempotency-Key: the provider counts one message.
    assert world.integrator.requests["primary"].count(attempt) == 2
    assert {k for k in world.integrator.accepted["primary"] if k == attempt} == {attempt}
    assert (await world.states(loan)).count("sent") == 1


async def _events_are(world: World, loan: str, expected: list[str]) -> bool:
    return await world.events(loan) == expected
