"""The runtime's background dispatcher sends a queued attempt after commit (sandbox provider),
and a backlog round after round."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lendkit.contracts import overdue
from lendkit.events import CloudEvent, new_event
from lendkit.testing import unique
from notifier.adapters.providers import SandboxProvider
from notifier.adapters.tables import contact_attempts
from notifier.bootstrap import NotifierRuntime, create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch_until_stopped
from notifier.settings import Settings


def _runtime(database_url: str, **settings: Any) -> NotifierRuntime:
    """A notifier runtime with no consumer, relay or retention loop: the dispatcher alone."""
    return create_runtime(
        Settings(
            database_url=database_url,
            run_consumers=False,
            run_outbox_relay=False,
            run_kit_retention=False,
            **settings,
        )
    )


async def test_the_background_dispatcher_sends_after_commit(database_url: str) -> None:
    runtime = _runtime(database_url, dispatch_interval_ms=50)
    sandbox = SandboxProvider()
    runtime.providers = {"sms": runtime.providers["sms"].__class__([sandbox])}
    borrower, loan = unique("B"), unique("L")
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    await runtime.start()
    try:
        async with runtime.uow() as uow:
            await uow.profiles.put(
                borrower, "en", "Asia/Shanghai", Jurisdiction.CN, [(Channel.SMS, "+10000000000", 1)]
            )
            await handlers.on_loan_became_overdue(uow, _overdue(loan, borrower))
            await uow.commit()
        for _ in range(100):
            if any(m.attempt_id for m in sandbox.messages.values() if "$9.90" in m.body):
                break
            await asyncio.sleep(0.05)
        assert [m for m in sandbox.messages.values() if "$9.90" in m.body]
    finally:
        CLOCK.pinned = None
        await runtime.stop()


async def test_a_backlog_bigger_than_a_round_is_sent_without_a_pause_per_round(
    database_url: str,
) -> None:
    """The morning after a close of business the queue holds far more than one round
    (``limit``): the dispatcher goes on round after round while they are full, and pauses
    (here an hour) only once a round found less. Five messages, two a round: all five are
    sent before the first pause could end."""
    runtime = _runtime(database_url, run_dispatcher=False)
    sandbox = SandboxProvider()
    providers = {"sms": runtime.providers["sms"].__class__([sandbox])}
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    await runtime.start()
    stopping = asyncio.Event()
    try:
        loans = [unique("L") for _ in range(5)]
        async with runtime.uow() as uow:
            for loan in loans:
                borrower = f"B-{loan}"
                await uow.profiles.put(
                    borrower,
                    "en",
                    "Asia/Shanghai",
                    Jurisdiction.CN,
                    [(Channel.SMS, "+10000000000", 1)],
                )
                await handlers.on_loan_became_overdue(uow, _overdue(loan, borrower))
            await uow.commit()

        async def now() -> datetime:
            return CLOCK.now()

        loop = asyncio.create_task(
            dispatch_until_stopped(
                runtime.uow, lambda: providers, now, stopping=stopping, interval_s=3600, limit=2
            )
        )
        sent: set[str] = set()
        for _ in range(200):
            sent = await _sent(runtime, loans)
            if sent == set(loans):
                break
            await asyncio.sleep(0.05)
        assert sent == set(loans)
        stopping.set()
        await asyncio.wait_for(loop, timeout=10)
    finally:
        stopping.set()
        CLOCK.pinned = None
        await runtime.stop()


def _overdue(loan: str, borrower: str) -> CloudEvent:
    return new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan,
            borrower_id=borrower,
            business_date=date(2026, 6, 1),
            oldest_unpaid_due_date=date(2026, 5, 31),
            days_past_due=1,
            bucket="1-30",
            overdue_minor=990,
            currency="USD",
        ),
        source="/tests/overdue",
    )


async def _sent(runtime: NotifierRuntime, loans: list[str]) -> set[str]:
    """The loans among ``loans`` with a sent message."""
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(contact_attempts.c.loan_id).where(
                contact_attempts.c.loan_id.in_(loans), contact_attempts.c.state == "sent"
            )
        )
        return {r[0] for r in rows}
