"""Ledger, overdue and restructure together over Kafka: an overdue loan's borrower asks for
help, accepts a term extension, the ledger rewrites the schedule, the plan is active and the
loan no longer overdue; the plan's instalments are paid and the plan completes.

Worked example: 3,000.00 CNY, 3 months at 12 %, disbursed 2026-03-25, first due
2026-04-25, not paid. Arrears grace 3 days: overdue on 2026-04-29 (DPD 4). The ledger
closes up to 2026-05-01, so the restructure service's today is 2026-05-02. The product
allows a term extension of at most 1 period: the two remaining due dates (05-25, 06-25)
plus one more (07-25), numbered 4, 5, 6; the 2026-04-25 instalment's principal is folded
in (the new principal is all 300,000), its interest and the penalty carried onto the first.
(The e2e platform's business clock is shared by the session: these dates lie after the
earlier files' and before the later files'.)
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from lendkit.auth import Role
from lendkit.contracts.overdue import LoanBecameOverdue
from lendkit.testing import eventually, read_events

from .conftest import Platform, close_business_days, open_loan


async def test_overdue_loan_term_extension_activates_cures_and_completes(
    platform: Platform,
) -> None:
    ledger, restructure = platform["ledger"], platform["restructure"]
    code = f"RS-{uuid.uuid4().hex[:6]}"
    loan_id = f"RS-L-{uuid.uuid4().hex[:8]}"
    borrower = f"B-rs-{uuid.uuid4().hex[:6]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 3,
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
        "restructure_policy": {"allowed_options": ["term_extension"], "max_extension_periods": 1},
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": borrower,
        "product_code": code,
        "principal_minor": 300_000,
        "disbursed_on": "2026-03-25",
    }
    await open_loan(ledger, product, loan)
    await close_business_days(ledger, date(2026, 4, 24), date(2026, 5, 1))
    me = restructure.auth([Role.BORROWER], subject=borrower, borrower_id=borrower)

    async def settled_and_seen() -> bool:
        owed = await ledger.client.get(f"/loans/{loan_id}/owed", headers=ledger.ops)
        if owed.json()["settling"]:
            return False
        mine = await restructure.client.get(f"/loans/{loan_id}/restructuring", headers=me)
        return mine.status_code == 200 and mine.json()["business_date"] == "2026-05-02"

    await eventually(settled_and_seen, timeout=60, interval=0.5)
    overdue_events = await read_events(
        [platform.namespace + "overdue.loans"],
        count=1,
        types=["overdue.loan.became_overdue.v1"],
        keys=[loan_id],
    )
    assert overdue_events, "the loan is overdue before the request"

    asked = await restructure.client.post(
        f"/loans/{loan_id}/hardship-requests",
        json={"reason": "hospital bills"},
        headers={**me, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert asked.status_code == 201, asked.text
    option = next(o for o in asked.json()["options"] if o["plan_type"] == "term_extension")
    assert option["eligible"], option
    quote = option["quote"]
    assert [(i["seq"], i["due_date"]) for i in quote["instalments"]] == [
        (4, "2026-05-25"),
        (5, "2026-06-25"),
        (6, "2026-07-25"),
    ]
    assert sum(i["principal_minor"] for i in quote["instalments"]) == 300_000

    accepted = await restructure.client.post(
        f"/offers/{option['offer_id']}/accept",
        headers={**me, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert accepted.status_code == 201, accepted.text
    plan_id = accepted.json()["plan"]["plan_id"]

    async def plan_status() -> str:
        r = await restructure.client.get(f"/plans/{plan_id}", headers=me)
        status: str = r.json()["status"]
        return status

    async def active() -> bool:
        return await plan_status() == "active"

    await eventually(active, timeout=60, interval=0.5)
    cured = await read_events(
        [platform.namespace + "overdue.loans"],
        count=1,
        types=["overdue.loan.cured.v1"],
        keys=[loan_id],
        timeout=30,
    )
    assert cured, "the re-aged loan is no longer overdue"
    state = (await restructure.client.get(f"/loans/{loan_id}/restructuring", headers=me)).json()
    assert state["days_past_due"] == 0
    assert state["forbearance"]["forborne_on"] == "2026-05-02"

    detail: dict[str, Any] = (
        await ledger.client.get(f"/loans/{loan_id}", headers=ledger.ops)
    ).json()
    booked = [i for i in detail["schedule"] if i["seq"] >= 4]
    assert [(i["seq"], i["principal_minor"], i["interest_minor"]) for i in booked] == [
        (i["seq"], i["principal_minor"], i["interest_minor"]) for i in quote["instalments"]
    ], "the ledger booked exactly the quoted schedule"
    for item in booked:
        amount = sum(item["outstanding"].values())
        paid = await ledger.client.post(
            f"/loans/{loan_id}/payments",
            json={
                "external_reference": f"plan-{item['seq']}",
                "amount_minor": amount,
                "value_date": "2026-05-02",
            },
            headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert paid.status_code == 201, paid.text

    async def completed() -> bool:
        return await plan_status() == "completed"

    await eventually(completed, timeout=60, interval=0.5)
    plan_events = await read_events(
        [platform.namespace + "restructure.plans"],
        count=100,
        keys=[loan_id],
        until=lambda found: any(e.type == "restructure.plan.completed.v1" for e in found),
    )
    types = [e.type for e in plan_events]
    for expected in (
        "restructure.hardship.requested.v1",
        "restructure.plan.accepted.v2",
        "restructure.plan.activated.v1",
        "restructure.forbearance.changed.v1",
        "restructure.plan.completed.v1",
    ):
        assert expected in types, types


async def test_a_missed_plan_instalment_breaks_the_plan_and_collections_resume(
    platform: Platform,
) -> None:
    """A weekly loan: 3,000.00 CNY, 3 weeks at 12 %, disbursed 2026-05-02, due 05-09,
    05-16, 05-23. 05-09 is not paid: overdue on 2026-05-13 (DPD 4); today 05-14. The term
    extension re-ages it over 05-16, 05-23 and 05-30 (seq 4, 5, 6). The first plan
    instalment (05-16) is not paid either: with no plan grace (``plan_grace_days`` 0) the
    plan is broken at the close of 2026-05-17 (05-16 + 0 < 05-17), and the overdue service
    counts the loan overdue again on the new schedule (DPD 4 on 2026-05-20)."""
    ledger, restructure = platform["ledger"], platform["restructure"]
    code = f"RSB-{uuid.uuid4().hex[:6]}"
    loan_id = f"RSB-L-{uuid.uuid4().hex[:8]}"
    borrower = f"B-rsb-{uuid.uuid4().hex[:6]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 3,
        "frequency": "WEEKLY",
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
        "restructure_policy": {
            "allowed_options": ["term_extension"],
            "max_extension_periods": 1,
            "plan_grace_days": 0,
        },
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": borrower,
        "product_code": code,
        "principal_minor": 300_000,
        "disbursed_on": "2026-05-02",
    }
    await open_loan(ledger, product, loan)
    await close_business_days(ledger, date(2026, 5, 8), date(2026, 5, 13))
    me = restructure.auth([Role.BORROWER], subject=borrower, borrower_id=borrower)

    async def seen() -> bool:
        owed = await ledger.client.get(f"/loans/{loan_id}/owed", headers=ledger.ops)
        if owed.json()["settling"]:
            return False
        mine = await restructure.client.get(f"/loans/{loan_id}/restructuring", headers=me)
        return mine.status_code == 200 and mine.json()["days_past_due"] > 0

    await eventually(seen, timeout=60, interval=0.5)
    asked = await restructure.client.post(
        f"/loans/{loan_id}/hardship-requests",
        json={"reason": "reduced hours"},
        headers={**me, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert asked.status_code == 201, asked.text
    option = next(o for o in asked.json()["options"] if o["plan_type"] == "term_extension")
    assert [(i["seq"], i["due_date"]) for i in option["quote"]["instalments"]] == [
        (4, "2026-05-16"),
        (5, "2026-05-23"),
        (6, "2026-05-30"),
    ]
    accepted = await restructure.client.post(
        f"/offers/{option['offer_id']}/accept",
        headers={**me, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert accepted.status_code == 201, accepted.text
    plan_id = accepted.json()["plan"]["plan_id"]

    async def status_is(expected: str) -> bool:
        r = await restructure.client.get(f"/plans/{plan_id}", headers=me)
        return bool(r.json()["status"] == expected)

    await eventually(lambda: status_is("active"), timeout=60, interval=0.5)
    await close_business_days(ledger, date(2026, 5, 14), date(2026, 5, 21))
    await eventually(lambda: status_is("broken"), timeout=90, interval=0.5)
    plan = (await restructure.client.get(f"/plans/{plan_id}", headers=me)).json()
    assert (plan["broken_seq"], plan["closed_on"]) == (4, "2026-05-17")
    again = await read_events(
        [platform.namespace + "overdue.loans"],
        count=2,
        types=["overdue.loan.became_overdue.v1"],
        keys=[loan_id],
        timeout=30,
    )
    assert [e.payload(LoanBecameOverdue).business_date for e in again] == [
        date(2026, 5, 13),
        date(2026, 5, 20),
    ], "collections resume on the new schedule"
