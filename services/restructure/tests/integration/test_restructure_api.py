"""The borrower and operations flow over the real app and PostgreSQL: the loan read model is
fed by the service's own handlers (the events the ledger would publish), then REST.

Worked example: 12,000.00 CNY at 12 % over 12 months (annuity), first due 2026-02-01,
nothing paid. The ledger closed 2026-03-14, so today is 2026-03-15 and the loan is
42 days past due (from 2026-02-01).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from lendkit.auth import Role
from lendkit.contracts import ledger
from lendkit.contracts.money import InstalmentBalance, InstalmentTerms
from lendkit.events import new_event
from lendkit.migrations import upgrade
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType, regular_schedule
from lendkit.testing import fresh_database, unique
from restructure.bootstrap import create_app
from restructure.entrypoints.consumers import CONSUMERS
from restructure.settings import Settings

pytestmark = pytest.mark.integration


class World:
    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.runtime = app.state.runtime
        self.http = client

    def auth(self, subject: str, role: Role = Role.BORROWER) -> dict[str, str]:
        borrower = subject if role is Role.BORROWER else None
        token = self.runtime.tokens.issue(subject, [role], borrower_id=borrower)
        return {"Authorization": f"Bearer {token}"}

    def key(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Idempotency-Key": uuid.uuid4().hex}

    async def deliver(self, payload: Any) -> None:
        event = new_event(payload, source="ledger")
        async with self.runtime.uow() as uow:
            await CONSUMERS.by_type[event.type](uow, event)
            await uow.commit()

    async def outbox_types(self, loan_id: str) -> list[str]:
        async with self.runtime.uow() as uow:
            rows = await uow.session.execute(
                text("SELECT event_type FROM outbox WHERE message_key = :k ORDER BY id"),
                {"k": loan_id},
            )
            return [r[0] for r in rows]


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    url = await fresh_database("restructure_api")
    await asyncio.to_thread(upgrade, "restructure", url)
    settings = Settings(
        database_url=url,
        consumer_group=unique("restructure-api"),
        run_consumers=False,
        run_outbox_relay=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            w = World(app, c)
            await w.deliver(_product("P-STD", {}))
            await w.deliver(
                _product(
                    "P-WAIVE",
                    {
                        "allowed_options": ["penalty_waiver", "discounted_settlement"],
                        "approval_threshold_minor": 100,
                        "max_discount_bps": 5_000,
                    },
                )
            )
            await w.deliver(
                ledger.BusinessDayClosed(business_date=date(2026, 3, 14), partition=0, partitions=1)
            )
            yield w


def _product(code: str, policy: dict[str, Any]) -> ledger.ProductPublished:
    return ledger.ProductPublished(
        code=code,
        currency="CNY",
        annual_rate="0.12",
        day_count="ACT_365",
        term=12,
        frequency="MONTHLY",
        schedule_type="ANNUITY",
        rounding="HALF_EVEN",
        allocation_strategy="oldest_first",
        allocation_components=["penalty", "fee", "interest", "principal"],
        reminder_days_before=[3, 1],
        restructure_policy=policy,
    )


SCHEDULE = regular_schedule(
    1_200_000,
    annual_rate=Decimal("0.12"),
    term=12,
    first_due_date=date(2026, 2, 1),
    start_seq=1,
    schedule_type=ScheduleType.ANNUITY,
    frequency=Frequency.MONTHLY,
    day_count=DayCount.ACT_365,
    rounding=Rounding.HALF_EVEN,
)


async def _loan(w: World, borrower: str, product: str = "P-STD", penalty: int = 0) -> str:
    loan_id = f"L-{uuid.uuid4().hex[:8]}"
    await w.deliver(
        ledger.LoanDisbursed(
            loan_id=loan_id,
            borrower_id=borrower,
            product_code=product,
            currency="CNY",
            principal_minor=1_200_000,
            annual_rate="0.12",
            disbursed_on=date(2026, 1, 1),
            timezone="Asia/Shanghai",
            instalments=[
                InstalmentTerms(
                    seq=i.seq,
                    due_date=i.due_date,
                    principal_minor=i.principal,
                    interest_minor=i.interest,
                )
                for i in SCHEDULE
            ],
            loan_version=1,
        )
    )
    if penalty:
        await w.deliver(
            ledger.ChargeBooked(
                loan_id=loan_id,
                charge_id="c-1",
                source_event_id="e-1",
                seq=1,
                component="penalty",
                amount_minor=penalty,
                currency="CNY",
                business_date=date(2026, 3, 14),
                balances=_balances(SCHEDULE, penalty_on_first=penalty),
                loan_version=2,
            )
        )
    return loan_id


def _balances(instalments: Any, penalty_on_first: int = 0) -> list[InstalmentBalance]:
    return [
        InstalmentBalance(
            seq=i.seq,
            due_date=i.due_date,
            principal_minor=i.principal,
            interest_minor=i.interest,
            penalty_minor=penalty_on_first if n == 0 else 0,
            fee_minor=0,
        )
        for n, i in enumerate(instalments)
    ]


def _option(body: dict[str, Any], plan_type: str) -> dict[str, Any]:
    return next(o for o in body["options"] if o["plan_type"] == plan_type)


async def _request(w: World, loan_id: str, borrower: str, **params: str) -> httpx.Response:
    return await w.http.post(
        f"/loans/{loan_id}/hardship-requests",
        json={"reason": "lost my job"},
        params=params,
        headers=w.key(w.auth(borrower)),
    )


async def test_every_type_is_quoted_or_refused_beside_the_current_terms(world: World) -> None:
    loan_id = await _loan(world, "B-1")
    r = await _request(world, loan_id, "B-1", lang="zh-CN")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["locale"] == "zh-CN"
    requested_on = date.fromisoformat(body["requested_on"])  # 2026-03-15 unless days closed
    assert body["expires_on"] == (requested_on + timedelta(days=7)).isoformat()  # policy: 7
    assert body["current_terms"]["total_cost_minor"] > 0
    extension = _option(body, "term_extension")
    assert extension["eligible"] and extension["name"] == "延长还款期限"
    quote = extension["quote"]
    # the overdue principal folded in: the new principal is the whole outstanding principal
    assert sum(i["principal_minor"] for i in quote["instalments"]) == 1_200_000
    assert len(quote["instalments"]) == 10 + 12  # 10 remaining periods + 12 more
    assert quote["instalments"][0]["seq"] == 13
    assert Decimal(quote["effective_annual_cost"]) > 0
    refused = _option(body, "discounted_settlement")
    assert not refused["eligible"]
    assert [x["code"] for x in refused["reasons"]] == ["type_not_offered"]
    assert refused["reasons"][0]["text"] == "该产品不提供此方案。"

    english = await world.http.get(
        f"/hardship-requests/{body['request_id']}",
        headers={**world.auth("B-1"), "Accept-Language": "en-GB,en;q=0.8"},
    )
    assert english.status_code == 200, english.text
    assert _option(english.json(), "term_extension")["name"] == "Term extension"
    assert world.runtime is not None
    assert "restructure.hardship.requested.v1" in await world.outbox_types(loan_id)


async def test_a_second_pending_request_for_the_loan_is_refused(world: World) -> None:
    loan_id = await _loan(world, "B-2")
    assert (await _request(world, loan_id, "B-2")).status_code == 201
    second = await _request(world, loan_id, "B-2")
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"


async def test_another_borrowers_loan_is_not_found(world: World) -> None:
    loan_id = await _loan(world, "B-3")
    assert (await _request(world, loan_id, "B-other")).status_code == 404
    mine = await _request(world, loan_id, "B-3")
    offer_id = _option(mine.json(), "term_extension")["offer_id"]
    theirs = await world.http.get(f"/offers/{offer_id}", headers=world.auth("B-other"))
    assert theirs.status_code == 404


async def test_accepting_twice_gives_one_plan_and_one_accepted_event(world: World) -> None:
    loan_id = await _loan(world, "B-4")
    offer_id = _option((await _request(world, loan_id, "B-4")).json(), "term_extension")["offer_id"]
    first = await world.http.post(
        f"/offers/{offer_id}/accept", headers=world.key(world.auth("B-4"))
    )
    assert first.status_code == 201, first.text
    plan = first.json()["plan"]
    assert plan["status"] == "accepted"
    replay_headers = {**world.auth("B-4"), "Idempotency-Key": "same-key"}
    again = await world.http.post(f"/offers/{offer_id}/accept", headers=replay_headers)
    replay = await world.http.post(f"/offers/{offer_id}/accept", headers=replay_headers)
    assert again.status_code == replay.status_code == 200
    assert again.json()["plan"]["plan_id"] == replay.json()["plan"]["plan_id"] == plan["plan_id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    types = await world.outbox_types(loan_id)
    assert types.count("restructure.plan.accepted.v2") == 1

    # activation: the ledger rewrote the schedule for the plan
    rewritten = [
        InstalmentBalance(
            seq=i["seq"],
            due_date=i["due_date"],
            principal_minor=i["principal_minor"],
            interest_minor=i["interest_minor"],
            penalty_minor=0,
            fee_minor=0,
        )
        for i in plan["instalments"]
    ]
    await world.deliver(
        ledger.ScheduleRewritten(
            loan_id=loan_id,
            schedule_version=2,
            plan_id=plan["plan_id"],
            reason="restructure",
            effective_date=date(2026, 3, 15),
            annual_rate="0.12",
            instalments=[
                InstalmentTerms(
                    seq=b.seq,
                    due_date=b.due_date,
                    principal_minor=b.principal_minor,
                    interest_minor=b.interest_minor,
                )
                for b in rewritten
            ],
            balances=rewritten,
            loan_version=5,
        )
    )
    status = (
        await world.http.get(f"/loans/{loan_id}/restructuring", headers=world.auth("B-4"))
    ).json()
    assert status["plan"]["status"] == "active"
    assert status["days_past_due"] == 0
    # performing when forborne (DPD 42 <= 90): probation for two years from 2026-03-15
    assert status["forbearance"] == {
        "status": "probation",
        "forborne_on": "2026-03-15",
        "cure_ends_on": None,
        "probation_starts_on": "2026-03-15",
        "probation_ends_on": "2028-03-15",
    }
    # every plan instalment paid: completed
    await world.deliver(
        ledger.PaymentAllocated(
            loan_id=loan_id,
            payment_id="pay-all",
            value_date=date(2026, 3, 15),
            amount_minor=sum(b.principal_minor + b.interest_minor for b in rewritten),
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=[],
            loan_version=6,
        )
    )
    done = (await world.http.get(f"/plans/{plan['plan_id']}", headers=world.auth("B-4"))).json()
    assert done["status"] == "completed"
    assert (await world.outbox_types(loan_id))[-1] == "restructure.plan.completed.v1"
    rates = await world.http.get("/rates", headers=world.auth("ops-r", Role.OPS))
    row = next(
        r
        for r in rates.json()
        if (r["product_code"], r["plan_type"]) == ("P-STD", "term_extension")
    )
    assert row["plans_completed"] >= 1 and row["completion"] is not None
    assert row["offers_accepted"] >= 1 and row["uptake"] is not None


async def test_accepting_after_the_offer_expired_is_409(world: World) -> None:
    loan_id = await _loan(world, "B-5")
    body = (await _request(world, loan_id, "B-5")).json()
    offer_id = _option(body, "payment_holiday")["offer_id"]
    # the offer's last day is 2026-03-22; the ledger closes 2026-03-22: today is 03-23
    for day in range(15, 23):
        await world.deliver(
            ledger.BusinessDayClosed(business_date=date(2026, 3, day), partition=0, partitions=1)
        )
    late = await world.http.post(f"/offers/{offer_id}/accept", headers=world.key(world.auth("B-5")))
    assert late.status_code == 409, late.text
    assert late.headers["content-type"] == "application/problem+json"
    assert late.json()["title"] == "Offer expired"
    offer = (await world.http.get(f"/offers/{offer_id}", headers=world.auth("B-5"))).json()
    assert offer["status"] == "expired"
    assert "restructure.offer.expired.v1" in await world.outbox_types(loan_id)


async def test_a_maker_cannot_approve_their_own_waiver_a_second_person_can(world: World) -> None:
    loan_id = await _loan(world, "B-6", product="P-WAIVE", penalty=5_000)
    maker, checker = world.auth("ops-a", Role.OPS), world.auth("ops-b", Role.OPS)
    made = await world.http.post(
        f"/loans/{loan_id}/offers", json={"plan_type": "penalty_waiver"}, headers=world.key(maker)
    )
    assert made.status_code == 201, made.text
    offer = made.json()
    assert (offer["status"], offer["needs_approval"], offer["forgiven_minor"]) == (
        "pending_approval",
        True,
        5_000,
    )
    offer_id = offer["offer_id"]
    early = await world.http.post(
        f"/offers/{offer_id}/accept", headers=world.key(world.auth("B-6"))
    )
    assert early.status_code == 409, early.text
    own = await world.http.post(f"/offers/{offer_id}/approve", headers=world.key(maker))
    assert own.status_code == 403, own.text
    assert own.headers["content-type"] == "application/problem+json"
    approved = await world.http.post(f"/offers/{offer_id}/approve", headers=world.key(checker))
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("open", "ops-b")
    trail = await world.http.get("/audit-trail", params={"subject_id": offer_id}, headers=checker)
    steps = [(a["step"], a["actor"]) for a in trail.json()["items"]]
    assert steps == [("made", "ops-a"), ("approved", "ops-b")]
    listed = await world.http.get("/offers", params={"status": "open"}, headers=checker)
    assert offer_id in [o["offer_id"] for o in listed.json()["items"]]


async def test_a_declined_offer_and_a_plan_cancelled_before_it_is_active(world: World) -> None:
    loan_id = await _loan(world, "B-7")
    body = (await _request(world, loan_id, "B-7")).json()
    holiday = _option(body, "payment_holiday")["offer_id"]
    extension = _option(body, "term_extension")["offer_id"]
    declined = await world.http.post(
        f"/offers/{holiday}/decline", headers=world.key(world.auth("B-7"))
    )
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")
    accepted = await world.http.post(
        f"/offers/{extension}/accept", headers=world.key(world.auth("B-7"))
    )
    plan_id = accepted.json()["plan"]["plan_id"]
    cancel = await world.http.post(f"/plans/{plan_id}/cancel", headers=world.key(world.auth("B-7")))
    assert (cancel.status_code, cancel.json()["status"]) == (200, "cancelled")
    # Told to the ledger (which undoes what it booked) and the overdue service (its pause).
    assert (await world.outbox_types(loan_id))[-1] == "restructure.plan.cancelled.v1"
    again = await world.http.post(f"/plans/{plan_id}/cancel", headers=world.key(world.auth("B-7")))
    assert again.status_code == 409, again.text
    ops = world.auth("ops-l", Role.OPS)
    listed = await world.http.get("/plans", params={"status": "cancelled"}, headers=ops)
    assert plan_id in [p["plan_id"] for p in listed.json()["items"]]
    requests = await world.http.get(
        "/hardship-requests", params={"status": "accepted", "limit": 500}, headers=ops
    )
    assert body["request_id"] in [r["request_id"] for r in requests.json()["items"]]


async def test_a_promise_to_pay_is_recorded_and_shown_with_the_loan(world: World) -> None:
    loan_id = await _loan(world, "B-8")
    made = await world.http.post(
        f"/loans/{loan_id}/promises",
        json={"promised_on": "2026-04-30", "amount_minor": 50_000},
        headers=world.key(world.auth("B-8")),
    )
    assert made.status_code == 201, made.text
    state = (
        await world.http.get(f"/loans/{loan_id}/restructuring", headers=world.auth("B-8"))
    ).json()
    assert [
        (p["promised_on"], p["amount_minor"], p["status"], p["source"]) for p in state["promises"]
    ] == [("2026-04-30", 50_000, "open", "borrower")]
    assert "restructure.promise.made.v1" in await world.outbox_types(loan_id)
