"""The runtime's background dispatcher sends a queued attempt after commit (sandbox provider)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lendkit.contracts import overdue
from lendkit.events import new_event
from lendkit.testing import unique
from notifier.adapters.providers import SandboxProvider
from notifier.bootstrap import create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.settings import Settings


async def test_the_background_dispatcher_sends_after_commit(database_url: str) -> None:
    runtime = create_runtime(
        Settings(
            database_url=database_url,
            run_consumers=False,
            run_outbox_relay=False,
            run_kit_retention=False,
            dispatch_interval_ms=50,
        )
    )
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
            await handlers.on_loan_became_overdue(
                uow,
                new_event(
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
                ),
            )
            await uow.commit()
        for _ in range(100):
            if any(m.attempt_id for m in sandbox.messages.values() if "$9.90" in m.body):
                break
            await asyncio.sleep(0.05)
        assert [m for m in sandbox.messages.values() if "$9.90" in m.body]
    finally:
        CLOCK.pinned = None
        await runtime.stop()
