"""REST: profiles, a borrower's own preferences, STOP by webhook, ops reads of the record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from lendkit.app import create_service_app
from lendkit.contracts import overdue
from lendkit.events import new_event
from lendkit.runtime import ServiceRuntime
from lendkit.testing import unique
from notifier.adapters.providers import Failover, SandboxProvider
from notifier.bootstrap import create_runtime
from notifier.entrypoints.api import router
from notifier.service_layer import handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "+8613900001111"
EMAIL = "someone@example.com"


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[ServiceRuntime[NotifierUnitOfWork]]:
    runtime = create_runtime(
        Settings(database_url=database_url, run_consumers=False, run_outbox_relay=False)
    )
    await runtime.start(background=False)
    try:
        yield runtime
    finally:
        CLOCK.pinned = None
        await runtime.stop()


def key() -> dict[str, str]:
    return {"Idempotency-Key": unique("k")}


def client(
    runtime: ServiceRuntime[NotifierUnitOfWork], role: str, borrower: str | None = None
) -> httpx.AsyncClient:
    app = create_service_app(runtime, title="notifier (test)", description="", routers=[router])
    token = runtime.tokens.issue(borrower or f"{role}-1", [role], borrower_id=borrower)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_stop_by_webhook_stops_the_next_sms_and_the_notice_goes_by_email(
    runtime: ServiceRuntime[NotifierUnitOfWork],
) -> None:
    borrower, loan = unique("B"), unique("L")
    # The notifier's time of day, pinned: on the wall clock the confirmation is decided at
    # whatever hour the suite runs, and after 22:00 in Shanghai it waits for the morning.
    CLOCK.pinned = datetime(2026, 6, 1, 9, 55, tzinfo=SHANGHAI)
    profile = {
        "language": "en",
        "timezone": "Asia/Shanghai",
        "jurisdiction": "CN",
        "channels": [
            {"channel": "sms", "address": PHONE, "priority": 1},
            {"channel": "email", "address": EMAIL, "priority": 2},
        ],
    }
    async with client(runtime, "service") as service:
        made = await service.post(
            f"/borrowers/{borrower}/contact-profile", json=profile, headers=key()
        )
        assert made.status_code == 200, made.text
        assert PHONE not in made.text and EMAIL not in made.text
        stop = await service.post(
            "/inbound-messages",
            json={"channel": "sms", "from_address": PHONE, "text": "pls Stop now"},
            headers=key(),
        )
        assert stop.json() == {"opted_out": True}
        again = await service.post(
            "/inbound-messages",
            json={"channel": "sms", "from_address": PHONE, "text": "STOP"},
            headers=key(),
        )
        assert again.json() == {"opted_out": True}  # still out; no second confirmation
    async with client(runtime, "borrower", borrower) as own:
        read = (await own.get(f"/borrowers/{borrower}/contact-profile")).json()
        assert {c["channel"]: c["opted_out"] for c in read["channels"]} == {
            "sms": True,
            "email": False,
        }
        assert (await own.get(f"/borrowers/{unique('B')}/contact-profile")).status_code == 404

    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    event = new_event(
        overdue.CreditReportNoticeDue(
            loan_id=loan, borrower_id=borrower, business_date=date(2026, 6, 1), days_past_due=30
        ),
        source="/tests/overdue",
    )
    async with runtime.uow() as uow:
        await handlers.on_credit_report_notice_due(uow, event)
        await uow.commit()
    sandbox = SandboxProvider()
    await dispatch(
        runtime.uow, {"sms": Failover([sandbox]), "email": Failover([sandbox])}, CLOCK.pinned
    )
    # The opt-out's one confirmation went by SMS (the channel just opted out); the notice
    # went by email.
    sent = {m.purpose: m for m in sandbox.messages.values()}
    assert sorted(sent) == ["credit_report_notice", "opt_out_confirmation"]
    assert sent["credit_report_notice"].channel == "email"
    assert sent["opt_out_confirmation"].channel == "sms"
    assert "no more messages" in sent["opt_out_confirmation"].body

    async with client(runtime, "ops") as ops:
        listed = (await ops.get(f"/loans/{loan}/contact-attempts")).json()
        assert [a["state"] for a in listed["items"]] == ["decided", "queued", "sent", "delivered"]
        assert listed["items"][1]["channel"] == "email"
        assert any("opt_out" in r for r in listed["items"][1]["reasons"])
        by_borrower = (
            await ops.get(f"/borrowers/{borrower}/contact-attempts", params={"limit": 2})
        ).json()
        assert len(by_borrower["items"]) == 2 and by_borrower["next_cursor"]
        rest = (
            await ops.get(
                f"/borrowers/{borrower}/contact-attempts",
                params={"cursor": by_borrower["next_cursor"]},
            )
        ).json()
        # The confirmation (decided, queued, sent, delivered) and the notice's four rows.
        assert [a["state"] for a in rest["items"]][-2:] == ["sent", "delivered"]
        assert len(rest["items"]) == 6

    # After its one confirmation the channel is out: an ordinary message is suppressed.
    ordinary = new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan,
            borrower_id=borrower,
            business_date=date(2026, 6, 1),
            oldest_unpaid_due_date=date(2026, 5, 31),
            days_past_due=1,
            bucket="1-30",
            overdue_minor=5000,
            currency="CNY",
        ),
        source="/tests/overdue",
    )
    async with runtime.uow() as uow:
        await handlers.on_loan_became_overdue(uow, ordinary)
        await uow.commit()
    async with client(runtime, "ops") as ops:
        last = (await ops.get(f"/loans/{loan}/contact-attempts")).json()["items"][-1]
    assert (last["state"], last["rule"]) == ("suppressed", "opt_out")


async def test_a_borrower_opting_out_by_preferences_stops_the_very_next_attempt(
    runtime: ServiceRuntime[NotifierUnitOfWork],
) -> None:
    borrower, loan = unique("B"), unique("L")
    async with client(runtime, "admin") as admin:
        made = await admin.post(
            f"/borrowers/{borrower}/contact-profile",
            json={
                "timezone": "Asia/Shanghai",
                "jurisdiction": "CN",
                "channels": [{"channel": "sms", "address": PHONE}],
            },
            headers=key(),
        )
        assert made.status_code == 200
    async with client(runtime, "borrower", borrower) as own:
        changed = await own.post(
            f"/borrowers/{borrower}/preferences",
            json={"language": "en", "opted_out": ["sms"]},
            headers=key(),
        )
        assert changed.status_code == 200 and changed.json()["language"] == "en"
    CLOCK.pinned = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
    event = new_event(
        overdue.LoanBecameOverdue(
            loan_id=loan,
            borrower_id=borrower,
            business_date=date(2026, 6, 1),
            oldest_unpaid_due_date=date(2026, 5, 31),
            days_past_due=1,
            bucket="1-30",
            overdue_minor=5000,
            currency="CNY",
        ),
        source="/tests/overdue",
    )
    async with runtime.uow() as uow:
        await handlers.on_loan_became_overdue(uow, event)
        await uow.commit()
    async with client(runtime, "ops") as ops:
        items = (await ops.get(f"/loans/{loan}/contact-attempts")).json()["items"]
    assert [(a["state"], a["rule"]) for a in items] == [
        ("decided", None),
        ("suppressed", "opt_out"),
    ]
