"""Steps of the restructure flow over the e2e platform, shared by the restructure e2e files:
open a loan for a borrower, wait until every service has seen a business day, request
hardship and take one type's option, accept an offer, follow a plan's status, pay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from lendkit.auth import Role
from lendkit.contracts.topics import LEDGER_LOANS, RESTRUCTURE_PLANS
from lendkit.events import CloudEvent
from lendkit.testing import eventually, read_events

from .conftest import Platform, RunningService, open_loan


@dataclass(frozen=True)
class Borrowed:
    """A loan on the platform and the headers of its borrower on the restructure service."""

    loan_id: str
    me: dict[str, str]


#: Where a platform on a simulated clock starts when nobody closed a day on it yet.
FIRST_FREE_DAY = date(2026, 1, 5)


async def next_free_day(ledger: RunningService) -> date:
    """The first day nobody closed yet on a ledger's simulated business clock: "today" on
    it (any later day may be closed, whatever the wall-clock date)."""
    clock = (await ledger.client.get("/business-clock", headers=ledger.ops)).json()
    assert clock["simulated"], "next_free_day needs a ledger on a simulated clock"
    last = clock["last_closed_day"]
    return FIRST_FREE_DAY if last is None else date.fromisoformat(last) + timedelta(days=1)


async def borrow(
    platform: Platform,
    prefix: str,
    *,
    disbursed_on: date,
    restructure_policy: dict[str, Any],
    frequency: str = "MONTHLY",
    principal_minor: int = 300_000,
) -> Borrowed:
    """A 3-period loan at 12 % on its own product (arrears grace 3 days)."""
    code = f"{prefix}-{uuid.uuid4().hex[:6]}"
    loan_id = f"{prefix}-L-{uuid.uuid4().hex[:8]}"
    borrower = f"B-{prefix.lower()}-{uuid.uuid4().hex[:6]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 3,
        "frequency": frequency,
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
        "restructure_policy": restructure_policy,
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": borrower,
        "product_code": code,
        "principal_minor": principal_minor,
        "disbursed_on": disbursed_on.isoformat(),
    }
    await open_loan(platform["ledger"], product, loan)
    me = platform["restructure"].auth([Role.BORROWER], subject=borrower, borrower_id=borrower)
    return Borrowed(loan_id, me)


async def restructuring(platform: Platform, loan: Borrowed) -> dict[str, Any]:
    r = await platform["restructure"].client.get(
        f"/loans/{loan.loan_id}/restructuring", headers=loan.me
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def seen_on(platform: Platform, loan: Borrowed, today: date, timeout: float = 60) -> None:
    """Wait until the ledger settled the loan's events and the restructure service's
    business clock says ``today``."""
    ledger, restructure = platform["ledger"], platform["restructure"]

    async def ready() -> bool:
        owed = await ledger.client.get(f"/loans/{loan.loan_id}/owed", headers=ledger.ops)
        if owed.json()["settling"]:
            return False
        mine = await restructure.client.get(f"/loans/{loan.loan_id}/restructuring", headers=loan.me)
        return mine.status_code == 200 and mine.json()["business_date"] == today.isoformat()

    await eventually(ready, timeout=timeout, interval=0.5)


async def option_for(
    platform: Platform, loan: Borrowed, plan_type: str, reason: str = "hardship"
) -> dict[str, Any]:
    """Ask for help; the (eligible) option of ``plan_type`` with its offer and quote. The
    product and the loan come on different topics: until the product's terms arrived the
    request is refused (409 ``loan-terms-unknown``), so ask again until they have."""
    asked: list[httpx.Response] = []

    async def answered() -> bool:
        r = await platform["restructure"].client.post(
            f"/loans/{loan.loan_id}/hardship-requests",
            json={"reason": reason},
            headers={**loan.me, "Idempotency-Key": uuid.uuid4().hex},
        )
        asked[:] = [r]
        return not (r.status_code == 409 and r.json()["type"].endswith("/loan-terms-unknown"))

    await eventually(answered, timeout=60, interval=0.5)
    [answer] = asked
    assert answer.status_code == 201, answer.text
    option: dict[str, Any] = next(
        o for o in answer.json()["options"] if o["plan_type"] == plan_type
    )
    assert option["eligible"], option
    return option


async def accept(platform: Platform, loan: Borrowed, offer_id: str) -> str:
    """Accept the offer; the plan's id."""
    accepted = await platform["restructure"].client.post(
        f"/offers/{offer_id}/accept", headers={**loan.me, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert accepted.status_code == 201, accepted.text
    plan_id: str = accepted.json()["plan"]["plan_id"]
    return plan_id


async def plan_of(platform: Platform, loan: Borrowed, plan_id: str) -> dict[str, Any]:
    r = await platform["restructure"].client.get(f"/plans/{plan_id}", headers=loan.me)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def plan_becomes(
    platform: Platform, loan: Borrowed, plan_id: str, status: str, timeout: float = 60
) -> dict[str, Any]:
    """Wait until the plan has ``status``; the plan."""

    async def there() -> bool:
        return bool((await plan_of(platform, loan, plan_id))["status"] == status)

    await eventually(there, timeout=timeout, interval=0.5)
    return await plan_of(platform, loan, plan_id)


async def pay(
    platform: Platform, loan: Borrowed, amount_minor: int, value_date: date, reference: str
) -> None:
    ledger = platform["ledger"]
    paid = await ledger.client.post(
        f"/loans/{loan.loan_id}/payments",
        json={
            "external_reference": f"{loan.loan_id}-{reference}",
            "amount_minor": amount_minor,
            "value_date": value_date.isoformat(),
        },
        headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text


async def ledger_event(
    platform: Platform, loan: Borrowed, event_type: str, timeout: float = 30
) -> CloudEvent:
    """The loan's first ``event_type`` on ``ledger.loans``."""
    found = await read_events(
        [platform.namespace + LEDGER_LOANS],
        count=1,
        types=[event_type],
        keys=[loan.loan_id],
        timeout=timeout,
    )
    assert found, f"no {event_type} for {loan.loan_id}"
    return found[0]


async def plan_event_types(platform: Platform, loan: Borrowed, last: str) -> list[str]:
    """The types of the loan's events on ``restructure.plans``, up to the first ``last``."""
    found = await read_events(
        [platform.namespace + RESTRUCTURE_PLANS],
        count=100,
        keys=[loan.loan_id],
        until=lambda events: any(e.type == last for e in events),
    )
    return [e.type for e in found]
