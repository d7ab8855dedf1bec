"""Calls are tasks for the call centre: asked for (REST or a stage's strategy), decided by the
contact policy, listed for the call centre, and their outcomes recorded through REST into the
append-only record, where the call caps count them. Against the real database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from lendkit.app import create_service_app
from lendkit.kit_tables import outbox
from lendkit.runtime import ServiceRuntime
from lendkit.testing import unique
from notifier.bootstrap import create_runtime
from notifier.domain.policy import Channel, Jurisdiction
from notifier.entrypoints.api import router
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)

Runtime = ServiceRuntime[NotifierUnitOfWork]


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    runtime = create_runtime(
        Settings(database_url=database_url, run_consumers=False, run_outbox_relay=False)
    )
    await runtime.start(background=False)
    try:
        yield runtime
    finally:
        CLOCK.pinned = None
        await runtime.stop()


def client(runtime: Runtime, role: str) -> httpx.AsyncClient:
    app = create_service_app(runtime, title="notifier (test)", description="", routers=[router])
    token = runtime.tokens.issue(f"{role}-1", [role])
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {token}"},
    )


async def borrower_with_loans(runtime: Runtime, loans: int) -> tuple[str, str, list[str]]:
    borrower, phone = unique("B"), f"+86139{unique('')[-8:]}"
    loan_ids = [unique("L") for _ in range(loans)]
    async with runtime.uow() as uow:
        await uow.profiles.put(
            borrower, "zh-CN", "Asia/Shanghai", Jurisdiction.CN, [(Channel.CALL, phone, 1)]
        )
        for loan in loan_ids:
            await uow.loans.add(loan, borrower, "P", "CNY", "Asia/Shanghai")
        await uow.commit()
    return borrower, phone, loan_ids


async def ask(ops: httpx.AsyncClient, loan: str, at: datetime) -> dict[str, Any]:
    CLOCK.pinned = at
    r = await ops.post(
        f"/loans/{loan}/call-tasks", json={}, headers={"Idempotency-Key": unique("k")}
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def report(
    centre: httpx.AsyncClient, call_id: str, outcome: str, **extra: Any
) -> httpx.Response:
    return await centre.post(
        f"/call-tasks/{call_id}/outcome",
        json={"outcome": outcome, **extra},
        headers={"Idempotency-Key": unique("k")},
    )


async def test_the_eighth_call_for_one_debt_in_seven_days_is_suppressed(runtime: Runtime) -> None:
    _, phone, [loan] = await borrower_with_loans(runtime, 1)
    async with client(runtime, "ops") as ops, client(runtime, "service") as centre:
        # Seven calls, one a day from Monday to Sunday, none answered: each a task, each reported.
        for day in range(7):
            task = await ask(ops, loan, MONDAY_10 + timedelta(days=day))
            assert task["outcome"] == "open", task
            listed = (await centre.get("/call-tasks", params={"limit": 500})).json()["items"]
            mine = [t for t in listed if t["call_id"] == task["call_id"]]
            assert [t["phone"] for t in mine] == [phone]  # the number goes to the call centre only
            assert (await report(centre, task["call_id"], "no_answer")).status_code == 200
        # The eighth, still on Sunday (within 7 consecutive days): suppressed by its rule.
        eighth = await ask(ops, loan, MONDAY_10 + timedelta(days=6, hours=2))
        assert (eighth["outcome"], eighth["rule"]) == ("suppressed", "debt_calls_7_in_7_days")
        # Next Monday the first call has left the window: allowed again.
        later = await ask(ops, loan, MONDAY_10 + timedelta(days=7))
        assert later["outcome"] == "open"
        listed = (await ops.get(f"/loans/{loan}/contact-attempts", params={"limit": 500})).json()
    states = [(a["state"], a["rule"]) for a in listed["items"]]
    assert states.count(("call_outcome", None)) == 7
    assert ("suppressed", "debt_calls_7_in_7_days") in states


async def test_a_call_the_day_after_a_conversation_is_suppressed(runtime: Runtime) -> None:
    _, _, [loan] = await borrower_with_loans(runtime, 1)
    async with client(runtime, "ops") as ops, client(runtime, "service") as centre:
        task = await ask(ops, loan, MONDAY_10)
        assert (await report(centre, task["call_id"], "conversation")).status_code == 200
        tuesday = await ask(ops, loan, MONDAY_10 + timedelta(days=1))
        assert (tuesday["outcome"], tuesday["rule"]) == ("suppressed", "after_conversation_7_days")
        # The conversation's day is day 1: day 8 (next Monday) is allowed.
        day_eight = await ask(ops, loan, MONDAY_10 + timedelta(days=7))
        assert day_eight["outcome"] == "open"


async def test_a_borrower_with_three_loans_is_not_called_beyond_the_per_person_cap(
    runtime: Runtime,
) -> None:
    _, _, loans = await borrower_with_loans(runtime, 3)
    async with client(runtime, "ops") as ops, client(runtime, "service") as centre:
        answers = []
        for n in range(9):  # three rounds over the three loans, one call every 3 hours
            at = MONDAY_10 + timedelta(days=n // 3, hours=3 * (n % 3))
            task = await ask(ops, loans[n % 3], at)
            answers.append((task["outcome"], task["rule"]))
            if task["outcome"] == "open":
                assert (await report(centre, task["call_id"], "no_answer")).status_code == 200
    # 7 calls for the person across the three loans, then the person's cap (no loan hit 7).
    assert answers[:7] == [("open", None)] * 7
    assert answers[7:] == [("suppressed", "person_calls_7_in_7_days")] * 2


async def test_a_promise_to_pay_is_recorded_and_published_without_personal_data(
    runtime: Runtime,
) -> None:
    _, phone, [loan] = await borrower_with_loans(runtime, 1)
    async with client(runtime, "ops") as ops, client(runtime, "service") as centre:
        task = await ask(ops, loan, MONDAY_10)
        incomplete = await report(
            centre, task["call_id"], "promise_to_pay", promised_on="2026-06-05"
        )
        assert incomplete.status_code == 422
        promised = await report(
            centre,
            task["call_id"],
            "promise_to_pay",
            promised_on="2026-06-05",
            amount_minor=50_000,
            currency="CNY",
        )
        assert promised.status_code == 200, promised.text
        assert promised.json()["promise_id"]
        twice = await report(centre, task["call_id"], "answered")
        assert twice.status_code == 409  # a task has one outcome
        assert (await report(centre, unique("nope"), "answered")).status_code == 404
        # Ops may not report outcomes (the call centre's service role does).
        assert (await report(ops, task["call_id"], "answered")).status_code == 403
        open_now = (await centre.get("/call-tasks", params={"limit": 500})).json()["items"]
        assert task["call_id"] not in {t["call_id"] for t in open_now}
    async with runtime.uow() as uow:
        rows = (
            await uow.session.execute(
                select(outbox.c.event_type, outbox.c.payload).where(outbox.c.message_key == loan)
            )
        ).all()
    events = {r.event_type: json.loads(r.payload) for r in rows}
    assert {"notifier.call.outcome_recorded.v1", "notifier.promise.made.v1"} <= set(events)
    promise = events["notifier.promise.made.v1"]
    promise = promise.get("data", promise)
    assert (promise["loan_id"], promise["promised_on"], promise["amount_minor"]) == (
        loan,
        "2026-06-05",
        50_000,
    )
    assert promise["currency"] == "CNY"
    for payload in events.values():
        assert phone not in json.dumps(payload)


async def test_a_call_asked_for_in_quiet_hours_is_deferred_and_an_unknown_loan_is_404(
    runtime: Runtime,
) -> None:
    _, _, [loan] = await borrower_with_loans(runtime, 1)
    async with client(runtime, "ops") as ops:
        night = await ask(ops, loan, datetime(2026, 6, 1, 23, 0, tzinfo=SHANGHAI))
        assert (night["outcome"], night["rule"]) == ("deferred", "quiet_hours")
        assert datetime.fromisoformat(night["until"]) == datetime(2026, 6, 2, 8, 0, tzinfo=SHANGHAI)
        r = await ops.post(
            f"/loans/{unique('L')}/call-tasks", json={}, headers={"Idempotency-Key": unique("k")}
        )
        assert r.status_code == 404
